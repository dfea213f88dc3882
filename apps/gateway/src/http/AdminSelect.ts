/**
 * `POST /admin/select`: the dry run of a chat request's model selection. It
 * decodes the body and headers as `POST /v1/chat/completions` does, binds the
 * request to a virtual key named by `x-modelgate-virtual-key` (as a request
 * made with that key, refused as one when the key is over its `rpm`), and ranks as the gateway would at this instant:
 * the same refusals (a named model the key may not use or its provider
 * cannot serve, no eligible model, every candidate over budget) with the
 * chat route's status and message. Nothing is reserved, held, counted or
 * recorded, and nothing is announced: no event (a rate limit or spent budget
 * the ranking finds is left for the next request to announce) and no review
 * by a host's `ModelOptimizer` (the ranking is the selector's own). Unlike a chat request it never waits in the queue: where the
 * gateway would wait up to `failover.queueDeadlineMs` for a rate limit or a
 * probe, the dry run answers the 503 (with `Retry-After`) at once, and it
 * does not consult the response cache. Each ranked model shows its rate
 * limits as the registry lists them (one key's) beside its provider's usable
 * keys and their sum, which its own window holds and its availability's
 * headroom is measured against (`RateLimiter/Steps.modelLimitsOf`).
 */
import type { HttpServerRequest } from "@effect/platform"
import { ApiKeys } from "@modelgate/core/ApiKeys"
import { CostTracker } from "@modelgate/core/CostTracker"
import { candidatesFor } from "@modelgate/core/Failover"
import { budgetRefusal, namedModelRefusal, noneEligible } from "@modelgate/core/Gateway/Refusals"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { ModelSelector, type SelectionInput } from "@modelgate/core/ModelSelector"
import { selectionInputOf } from "@modelgate/core/ModelSelector/RequestInput"
import { Providers } from "@modelgate/core/Provider"
import { keyCountOf, modelLimitsOf } from "@modelgate/core/RateLimiter/Steps"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Option } from "effect"
import { type ApiError, fromGatewayError, invalidRequest } from "./ApiError.js"
import { adminBodyLimit, readJson } from "./Body.js"
import { decodeChat } from "./Chat.js"
import { json } from "./Info.js"
import { boundBy, type KeyBinding, optionsFrom, requirementsFrom, withImplied } from "./Requirements.js"

const notAnObject = invalidRequest("request body must be a JSON object", "invalid_request")
const keyHeader = "x-modelgate-virtual-key"

/** The virtual keys as the dry run reads them (`Auth`): counting nothing. */
export interface VirtualKeys {
  /** The binding of the key in force named `name`, if any. */
  readonly named: (name: string) => KeyBinding | undefined
  /** The 429 a chat request with that key would get now (over its `rpm`), if any. */
  readonly throttled: (name: string) => ApiError | undefined
}

/**
 * A ranked model's rate limits: `rpm` and `tpm` one key's (the registry's), `keys` its provider's usable
 * keys, `totalRpm` and `totalTpm` what the model serves over them (as the limiter holds it).
 */
const rateLimitsOf = (model: ModelMetadata, keys: number) => {
  const total = modelLimitsOf(model, keys)
  return { rpm: model.rateLimits.rpm, tpm: model.rateLimits.tpm, keys, totalRpm: total.rpm, totalTpm: total.tpm }
}

/** The handler of `POST /admin/select`, reading the virtual keys through `keys`. */
export const make = (keys: VirtualKeys) =>
  Effect.gen(function* () {
    const registry = yield* ModelRegistry
    const selector = yield* ModelSelector
    // Optional: an app over test doubles may have no adapters (nothing excluded as unsupported) or no cost tracker.
    const providers = Option.getOrUndefined(yield* Effect.serviceOption(Providers))
    const costs = Option.getOrUndefined(yield* Effect.serviceOption(CostTracker))
    // As the limiter counts them.
    const keyCount = keyCountOf(Option.getOrUndefined(yield* Effect.serviceOption(ApiKeys))?.usableIds)

    const keyOf = (name: string | undefined) => {
      if (name === undefined) return Effect.succeed(undefined)
      const key = keys.named(name.trim())
      if (key === undefined) {
        return Effect.fail(invalidRequest(`invalid '${keyHeader}' header: no virtual key named ${JSON.stringify(name)}`, "invalid_header", keyHeader))
      }
      const throttled = keys.throttled(name.trim())
      return throttled === undefined ? Effect.succeed(key) : Effect.fail(throttled)
    }

    return (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function* () {
        const body = yield* readJson(request, adminBodyLimit)
        if (typeof body !== "object" || body === null || Array.isArray(body)) return yield* Effect.fail(notAnObject)
        const raw = body as Record<string, unknown>
        // As the chat route decodes it (extra OpenAI parameters kept), with its checks of the headers.
        const chat = yield* decodeChat(raw)
        const stated = yield* requirementsFrom(raw["modelgate"], request.headers)
        yield* optionsFrom("", request.headers)
        const key = yield* keyOf(request.headers[keyHeader])
        const requirements = withImplied(chat, key === undefined ? stated : boundBy(stated, key))
        const explicit = chat.model === "auto" ? undefined : yield* Effect.mapError(registry.resolve(chat.model), fromGatewayError)
        const refused = explicit === undefined ? undefined : namedModelRefusal(providers, chat, requirements, explicit)
        if (refused !== undefined) return yield* Effect.fail(fromGatewayError(refused))
        const input: SelectionInput = { ...selectionInputOf(chat, requirements, explicit, providers), dryRun: true }
        const { estimatedPromptTokens, maxOutputTokens } = input
        const ranking = yield* selector.rank(input)
        // In the order the gateway tries them: a named model first, then its fallbacks (whatever their scores).
        const order = candidatesFor(explicit ?? "auto", ranking)
        if (order.length === 0) {
          if (costs !== undefined) {
            yield* Effect.mapError(budgetRefusal(registry, costs, ranking, requirements, estimatedPromptTokens, chat, true), fromGatewayError)
          }
          return yield* Effect.fail(fromGatewayError(noneEligible(ranking)))
        }
        const ranked = order.flatMap((model) => ranking.ranked.filter((s) => s.model.id === model.id))
        return json({
          requirements,
          estimatedPromptTokens,
          maxOutputTokens,
          ranked: ranked.map((s, i) => ({
            rank: i + 1,
            model: s.model.id,
            provider: s.model.provider,
            score: s.score,
            parts: s.parts,
            weights: s.weights,
            explanation: s.explanation,
            rateLimits: rateLimitsOf(s.model, keyCount(s.model.provider))
          })),
          excluded: ranking.excluded
        })
      })
  })
