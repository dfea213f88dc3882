/**
 * The start of every request: its id, start time, clock, config, explicit
 * model (refused when the key may not use it or its provider cannot serve the
 * request) and cache key (`begin`), and the cache lookup that may answer it
 * before any selection (`unlessCached`).
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { ModelNotAllowed, UnsupportedParameter } from "@modelgate/domain/Errors"
import { allowsModel, type TaskRequirements } from "@modelgate/domain/Requirements"
import { type Clock, Effect, Option } from "effect"
import type { AnswerMeta, RequestOptions } from "../Gateway.js"
import type { GatewayConfigData } from "../GatewayConfigSchema.js"
import type { TrialClaim } from "../ModelSelector.js"
import { answeringModel, registryDigest } from "../ResponseCache/Key.js"
import * as Accounting from "./Accounting.js"
import type { Flight } from "./InFlight.js"
import { namedModelRefusal } from "./Refusals.js"
import { nextRequestId, type Services } from "./Services.js"

/** What a request has once it began: its id, start time, clock, explicit model and cache key. */
export interface Begun {
  readonly requestId: string
  /** The request's agent type (`requirements.agentType`), carried into its per-request events. */
  readonly agentType: string | undefined
  readonly startedAt: number
  /**
   * The fiber's clock, read once per request: later timestamps are taken
   * with `unsafeCurrentTimeMillis` inside steps the request runs anyway
   * instead of one `Clock.currentTimeMillis` step each (TestClock included).
   */
  readonly clock: Clock.Clock
  /**
   * The config, read once when the request began, again each time the
   * queue ranks it after a wait (`Candidates.ts`) and at each failover
   * (`Attempt.ts`): ranking and accounting run on it, so a request that
   * waited, or fails over, runs under the config in force when it is served
   * (a budget lowered meanwhile holds for it).
   */
  config: GatewayConfigData
  /**
   * The model the request named, resolved when it began, and again each time
   * the queue ranks it after a wait (`Candidates.ts`): a models.json reload
   * while it waited (its `fallbacks` changed) holds for it.
   */
  explicit: ModelMetadata | undefined
  readonly key: string | undefined
  /** `RequestOptions.closing`: its server's shutdown, which ends its wait in the queue (`Candidates.ts`) or for a permit (`Attempt.ts`). */
  readonly closing: Effect.Effect<void> | undefined
  /** `RequestOptions.keyRevoked`: `true` ends the request's wait in the queue (`Candidates.ts`). */
  readonly keyRevoked: (() => boolean) | undefined
  /** Whether the request is traced (the tracer was on when it began): its attempts get spans (`Attempt.ts`). */
  readonly traced: boolean
  /**
   * The trials its ranking claimed for the model it calls first, while the
   * request holds them (`Trial.ts`): set once it has its candidates, cleared
   * when released or handed to the call that settles them.
   */
  trial: TrialClaim | undefined
  /**
   * The flight of its cache key it leads (`InFlight.ts`): identical complete
   * requests wait for its answer. Set when it leads one, cleared when it ends
   * or is handed to its call left running.
   */
  flight: Flight | undefined
}

/**
 * `model` as the cache keys it for a request of `agentType`: each agent type
 * (a team: a virtual key binds it) has answers of its own, never replayed to
 * another (a hit would tell it that someone asked exactly this); requests
 * with none share theirs.
 */
const teamScoped = (model: string, agentType: string | undefined): string =>
  agentType === undefined ? model : `${model}|agentType:${agentType}`

/**
 * An `auto` request's capabilities as its cache key has them: sorted, and
 * without `streaming` (a stream is served from a complete answer, a streamed
 * answer is cached complete: streamed or not, it is the same request).
 */
const keyedCapabilities = (capabilities: ReadonlyArray<string>): string => capabilities.filter((c) => c !== "streaming").sort().join(",")

/**
 * The cache key of a cacheable request (none when the cache does not apply):
 * on the model it names as that model answers (`answeringModel`), or, for
 * `auto`, on its requirements (`keyedCapabilities`) and what the registry's models answer as
 * (`registryDigest` of `models`); scoped to its agent type (`teamScoped`).
 */
const cacheKeyOf = (
  s: Services,
  request: ChatRequest,
  requirements: TaskRequirements,
  explicit: ModelMetadata | undefined,
  models: ReadonlyArray<ModelMetadata>
) =>
  s.cache.key(
    request,
    teamScoped(
      explicit !== undefined ? answeringModel(explicit) :
        `auto|${keyedCapabilities(requirements.capabilities)}|${requirements.priority}|${requirements.maxCostPerRequestUsd ?? ""}|${requirements.maxLatencyMs ?? ""}|${requirements.minContextWindow ?? ""}|${requirements.taskType ?? ""}${
          requirements.allowedModels === undefined ? "" : `|only:${[...requirements.allowedModels].sort().join(",")}`
        }|${registryDigest(models)}`,
      requirements.agentType
    )
  )

/**
 * The cache key to store the answer of `answered` under: the request's key,
 * or, when a named model's request was answered by its fallback, the key of
 * the request naming that fallback (the next request naming the model goes to
 * it, not to its fallback's answer). Undefined when the cache does not apply.
 */
export const answerKey = (s: Services, request: ChatRequest, begun: Begun, answered: ModelMetadata): string | undefined =>
  begun.key === undefined || begun.explicit === undefined || begun.explicit.id === answered.id
    ? begun.key
    : s.cache.key(request, teamScoped(answeringModel(answered), begun.agentType))

const noModels: ReadonlyArray<ModelMetadata> = []

/** What every request starts with: its id, start time, explicit model and cache key. */
export const begin = (
  s: Services,
  request: ChatRequest,
  requirements: TaskRequirements,
  options: RequestOptions | undefined,
  traced = false
) =>
  Effect.flatMap(s.config.get, (current) =>
    Effect.clockWith((clock) => {
      const startedAt = clock.unsafeCurrentTimeMillis()
      const requestId = options?.requestId ?? nextRequestId(s, startedAt)
      const begun = (explicit: ModelMetadata | undefined, key: string | undefined): Begun => ({
        requestId,
        agentType: requirements.agentType,
        startedAt,
        clock,
        config: current,
        explicit,
        key,
        closing: options?.closing,
        keyRevoked: options?.keyRevoked,
        traced,
        trial: undefined,
        flight: undefined
      })
      // A named model's key at once; `auto`'s with the registry's models (one step, taken only when cached).
      const keyed = (explicit: ModelMetadata | undefined): Effect.Effect<Begun> =>
        explicit !== undefined
          ? Effect.succeed(begun(explicit, cacheKeyOf(s, request, requirements, explicit, noModels)))
          : Effect.map(s.registry.all, (models) => begun(undefined, cacheKeyOf(s, request, requirements, undefined, models)))
      // `cacheableAt` on the config just read, when the cache has it (no config read and map steps).
      const cacheableAt = s.cache.cacheableAt
      const withModel = (explicit: ModelMetadata | undefined): Effect.Effect<Begun> =>
        options?.cacheTtlMs === 0
          ? Effect.succeed(begun(explicit, undefined))
          : cacheableAt !== undefined
          ? (cacheableAt(current, request) ? keyed(explicit) : Effect.succeed(begun(explicit, undefined)))
          : Effect.flatMap(s.cache.cacheable(request), (cacheable) => cacheable ? keyed(explicit) : Effect.succeed(begun(explicit, undefined)))
      return request.model === "auto"
        ? withModel(undefined)
        : Effect.flatMap(s.registry.resolve(request.model), (explicit): Effect.Effect<Begun, ModelNotAllowed | UnsupportedParameter> => {
          // A named model its key may not use, or whose provider would drop what the request asks for, is refused.
          const refused = namedModelRefusal(s.providers, request, requirements, explicit)
          return refused === undefined ? withModel(explicit) : Effect.fail(refused)
        })
    }))

/** A cached answer of `model`, recorded as a hit (zero cost, its own latency). */
const cacheHit = (s: Services, requirements: TaskRequirements, begun: Begun, streamed: boolean, response: ChatResponse, model: ModelMetadata) =>
  Effect.gen(function* () {
    const now = begun.clock.unsafeCurrentTimeMillis()
    yield* Accounting.cacheHit(s.accounting, model, response.usage, begun.startedAt, { requestId: begun.requestId, requirements, now, streamed })
    const meta: AnswerMeta = {
      requestId: begun.requestId,
      model: response.model,
      provider: model.provider,
      cacheHit: true,
      failovers: 0,
      costUsd: 0
    }
    return Option.some({ response: { ...response, id: `chatcmpl-${begun.requestId}` }, meta })
  })

/**
 * The cached answer, recorded as a hit, when there is one. An answer of a
 * model the request may not use (another key's) is a miss, and so is one of
 * a model the registry no longer has enabled (a reload removed or disabled
 * it): that model answers nothing any more.
 */
const fromCache = (s: Services, requirements: TaskRequirements, begun: Begun, streamed: boolean) =>
  begun.key === undefined
    ? Effect.succeedNone
    : Effect.flatMap(s.cache.get(begun.key), (cached) =>
      Option.isNone(cached) || !allowsModel(requirements, cached.value.model)
        ? Effect.succeedNone
        : Effect.flatMap(Effect.option(s.registry.get(cached.value.model)), (model) =>
          Option.isNone(model) || !model.value.enabled
            ? Effect.succeedNone
            : cacheHit(s, requirements, begun, streamed, cached.value, model.value)))

/** Run `answer` unless the cache has the answer (a cache hit is returned as is). */
export const unlessCached = <A, E>(
  s: Services,
  requirements: TaskRequirements,
  begun: Begun,
  streamed: boolean,
  answer: Effect.Effect<A, E>,
  hit: (cached: { readonly response: ChatResponse; readonly meta: AnswerMeta }) => A
): Effect.Effect<A, E> =>
  begun.key === undefined
    ? answer
    : Effect.flatMap(fromCache(s, requirements, begun, streamed), (cached) => (Option.isSome(cached) ? Effect.succeed(hit(cached.value)) : answer))
