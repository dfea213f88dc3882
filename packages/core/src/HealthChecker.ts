/**
 * HealthChecker: a probe fiber per model, consecutive failures, recovery,
 * backoff, history; passive signals from real traffic.
 *
 * A model never checked yet reads as `unknown` and counts as available. Every
 * enabled model of the registry gets one probe fiber (a `FiberMap` in the
 * layer's scope, kept in step with the registry and the configuration) that
 * calls `Provider.probe` at once, then every `healthCheck.intervalMs`, each
 * probe bounded by `healthCheck.timeoutMs`. `failureThreshold` consecutive
 * failures (probes, or real calls failing with ServerError / Timeout /
 * Transport / Overloaded), each within `2 × intervalMs + timeoutMs` of the
 * one before (`HealthChecker/Run.ts`: a later one starts a new run), make a
 * model `unavailable`, and so does one probe
 * whose connection is refused while the model was never seen working
 * (nothing listens at the address, as with Ollama not started); its probes then follow
 * `probeBackoff`; one success makes it `available` again, but a model that
 * real calls took out is half-open then (`HealthChecker/HalfOpen.ts`): a
 * passing probe (often a GET of the model list, which answers while
 * completions fail) lets ONE real call through at a time (`claimTrial`:
 * the request that calls it first; the others read the model unavailable for
 * a short retry) until a real call succeeds (then it is fully available) or
 * fails (then it is out again at once, until the next probe); a request done
 * with it without either (a 400, a local refusal, a failover before calling
 * it) gives the trial back to the next request; so a model
 * whose probes pass and calls fail costs one failed call per probe, not one
 * per request until the threshold. A probe answered by
 * a 429 is recorded but moves nothing (the model answers; the rate limiter
 * owns limits). Models whose provider has no adapter or no usable key are
 * `unavailable` with that reason and are not probed. With
 * `healthCheck.enabled: false` there are no probe fibers: passive signals
 * only, and a model real calls took out is let through to a real call again
 * when its probe would have come (`State.withPassiveRetry`: `intervalMs`,
 * then twice as long after each failed call), so it can come back: one
 * real call at a time, as above.
 *
 * A model moved to another endpoint while the gateway runs (a reload or
 * `PATCH /admin/models` gives it another provider or provider model, or a
 * reload its provider another `baseUrl`) starts over there as `unknown`,
 * probed at once; the outcomes of real calls sent to the old endpoint before
 * the move and ending after it are not heard (callers pass the call's start,
 * `startedAt`), so a dead old endpoint does not take the model out at its new one.
 *
 * Failures that got no answer from a provider's endpoint (refused, reset
 * before any answer, DNS: `EndpointEvidence`) count for every model served
 * there: `failureThreshold` in a row across its models, each within
 * `2 × intervalMs + timeoutMs` of the one before, take all of them out,
 * until a probe or call of any of them succeeds (`HealthChecker/Endpoints.ts`;
 * timeouts once two models show them).
 *
 * Several gateway instances on one database share the models their own
 * checks find unavailable, every `healthCheck.syncIntervalMs`, through a
 * `HealthMarkStore` (`HealthChecker/Sync.ts`): a model another instance
 * marked reads as unavailable here too ("unavailable on another instance:
 * ..."), until that instance finds it working again, its mark goes stale, or
 * a check of this instance's own after the mark succeeds. Such a model's
 * `retryAfterMs` is the sooner of the two instances' next probes; no
 * `HealthChanged` is published for it here (its instance published one).
 *
 * Every check is offered to the `RecordSink` as a `HealthCheckRecord` (real
 * calls only when they change something); the last `historySize` per model
 * stay in memory. Transitions into or out of `unavailable` publish
 * `HealthChanged`; `changes` streams every status change.
 *
 * Untraced (`reportSuccess` and `reportFailure`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import type { HealthStatus } from "@modelgate/domain/Events"
import { HealthChanged } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import {
  type EndpointEvidence,
  endpointEvidence,
  healthFailureTags,
  isUnreachable,
  type ProviderErrorTag
} from "@modelgate/domain/ProviderError"
import { HealthCheckRecord } from "@modelgate/domain/Records"
import { Clock, Context, Duration, Effect, FiberMap, Layer, Option, PubSub, Schedule, ScheduleDecision, Stream } from "effect"
import { ApiKeys } from "./ApiKeys.js"
import { withKeyFingerprint } from "./ApiKeys/SharedId.js"
import { Events } from "./Events.js"
import { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayConfigData, HealthCheckConfig } from "./GatewayConfigSchema.js"
import { Endpoints } from "./HealthChecker/Endpoints.js"
import { HalfOpen } from "./HealthChecker/HalfOpen.js"
import { runWindowMs } from "./HealthChecker/Run.js"
import * as State from "./HealthChecker/State.js"
import * as Sync from "./HealthChecker/Sync.js"
import { HealthMarkStore, type InstanceHealthMark } from "./HealthMarkStore.js"
import { EndpointMoves } from "./internal/EndpointMoves.js"
import { InstanceId } from "./InstanceId.js"
import { ModelRegistry } from "./ModelRegistry.js"
import { Providers } from "./Provider.js"
import { RecordSink } from "./RecordSink.js"

/** The health of one model. */
export interface ModelHealth {
  readonly model: string
  readonly status: HealthStatus
  readonly consecutiveFailures: number
  readonly lastCheckedAt: number | undefined
  readonly lastLatencyMs: number | undefined
  readonly reason: string
  /** True when no probe can fix it (no usable key, no adapter): waiting does not help. */
  readonly blocked?: boolean | undefined
  /** When the model is probed next (epoch ms), as `status` and `all` report it; unset while no probe is scheduled. */
  readonly nextProbeAt?: number | undefined
}

/** Whether a model can serve now; for one that cannot, when a probe may bring it back. */
export interface Availability {
  readonly health: ModelHealth
  readonly available: boolean
  /**
   * For a model that is unavailable until a probe succeeds: ms until its next
   * probe (0 when one is due or running); for one whose trial call is in
   * flight (`trial`): ms until it may be tried again. Undefined when no probe is
   * scheduled, or no probe can help (`health.blocked`).
   */
  readonly retryAfterMs?: number | undefined
  /** `retryAfterMs` is the retry of a half-open model whose trial call is in flight, not a probe's (`claimTrial`). */
  readonly trial?: true | undefined
}

/** Model health. */
export class HealthChecker extends Context.Tag("@modelgate/core/HealthChecker")<
  HealthChecker,
  {
    /** The health of `model` now (`unknown` before its first check). */
    readonly status: (model: string) => Effect.Effect<ModelHealth>
    /** Whether `model` may be tried: every status but `unavailable` (with health checks off, also one whose retry time has come). */
    readonly isAvailable: (model: string) => Effect.Effect<boolean>
    /** The health of every model the checker tracks. */
    readonly all: Effect.Effect<ReadonlyArray<ModelHealth>>
    /** Every status change. */
    readonly changes: Stream.Stream<ModelHealth>
    /**
     * A real call succeeded. `startedAt` (epoch ms), when given, is when it was
     * sent: a call sent before its model moved to another endpoint (another
     * provider, provider model or base URL) is not heard, here and in `reportFailure`.
     */
    readonly reportSuccess: (model: string, latencyMs: number, startedAt?: number) => Effect.Effect<void>
    /**
     * `reportSuccess` at `now` (the caller's clock read), applied when CALLED:
     * on a healthy model the returned effect is `Effect.void` (nothing to
     * publish), else it records and publishes the transition. Call it where it
     * is run, once. Optional: callers fall back to `reportSuccess`.
     */
    readonly reportSuccessAt?: (now: number, model: string, latencyMs: number, startedAt?: number) => Effect.Effect<void>
    /**
     * A real call failed; only the `healthFailureTags` classes (ProviderError.ts)
     * count against health, and not one sent (at `startedAt`) before its model
     * moved to another endpoint. `endpoint`: what the failure says of the
     * model's whole endpoint (`endpointEvidence` of the error; `HealthChecker/Endpoints.ts`).
     */
    readonly reportFailure: (
      model: string,
      errorClass: ProviderErrorTag | string,
      startedAt?: number,
      endpoint?: EndpointEvidence | undefined
    ) => Effect.Effect<void>
    /** The last checks of `model` (at most `historySize`), oldest first. */
    readonly history: (model: string) => Effect.Effect<ReadonlyArray<HealthCheckRecord>>
    /**
     * `status` and `isAvailable` of several models in one step, in order (the
     * selector asks it once per ranking). A model real calls took out that
     * reads available again reads unavailable, retry in 1 s, while a trial
     * call of it is in flight (`claimTrial`, `HealthChecker/HalfOpen.ts`).
     * Optional: callers fall back to one call of each per model (`isAvailable`
     * does not know of trials).
     */
    readonly availability?: (
      models: ReadonlyArray<string>
    ) => Effect.Effect<ReadonlyArray<Availability>>
    /**
     * `availability` read when CALLED, as the other services' `…At` members
     * (`config` and `now` are the caller's reads; health needs neither): the
     * returned effect only carries the answer, so call it where it is run, once.
     * Optional: callers fall back to `availability`.
     */
    readonly availabilityAt?: (
      config: GatewayConfigData,
      now: number,
      models: ReadonlyArray<string>
    ) => Effect.Effect<ReadonlyArray<Availability>>
    /**
     * The request whose final ranking calls `model` first (never a dry run)
     * takes its trial call, when `model` is one real calls took out that reads
     * available again (else nothing, and the answer is undefined): until that
     * call's outcome is reported, `availability` reads it unavailable, retry in
     * 1 s. The answer releases the claim (if it is still this one) for a
     * request done with the model without an outcome of it (a 400, a local
     * refusal, its client gone before the call, a failover before calling it):
     * the next request may try it then. Synchronous, at the checker's clock.
     * Optional: without it, no trial limits such a model.
     */
    readonly claimTrial?: (model: string) => (() => void) | undefined
  }
>() {}

/** Checks kept per model in memory. */
export const historySize = State.historySize

/**
 * Delays between probes of an unavailable model: `intervalMs`, then doubling,
 * capped at `backoffCapMs` (60 s, 120 s, 240 s, 480 s, 600 s, 600 s, ... by default).
 * A cap under `intervalMs` caps nothing: a model that is down is never probed
 * more often than a healthy one.
 */
export const probeBackoff = (config: Pick<HealthCheckConfig, "intervalMs" | "backoffCapMs">): Schedule.Schedule<Duration.Duration> => {
  const cap = Duration.millis(Math.max(config.backoffCapMs, config.intervalMs))
  return Schedule.exponential(Duration.millis(config.intervalMs), 2).pipe(Schedule.modifyDelay((delay) => Duration.min(delay, cap)))
}

/** `make`, with the default interval of the health sync between instances (`HealthChecker/Sync.ts`). */
export const makeWith = (options: {
  /** How often to share unavailable models when `healthCheck.syncIntervalMs` is unset (none: no sync then). */
  readonly defaultSyncIntervalMs?: number | undefined
}) => Effect.gen(function* () {
  const config = yield* GatewayConfig
  const events = yield* Events
  const sink = yield* RecordSink
  const registry = yield* ModelRegistry
  const providers = yield* Providers
  const apiKeys = yield* ApiKeys
  // A plain Map, read and changed only inside synchronous steps (each transition is atomic): one
  // Effect op per read on the request path instead of a Ref step and a copy of the map per change.
  const entries = new Map<string, State.Entry>()
  // Models whose entries the latest sync that dropped any dropped (removed or disabled), until they are
  // served again: a real call's outcome that lands afterwards never writes their entry back.
  let dropped = new Set<string>()
  // Whether health checks are off (no probe fibers; set by `sync`): an unavailable model's `nextProbeAt`
  // is then when a real call may try it again (`State.withPassiveRetry`).
  let passive = false
  // Models real calls took out, let through to one real call at a time once they read available again,
  // until one succeeds (`HealthChecker/HalfOpen.ts`).
  const halfOpen = new HalfOpen()
  // Each model's endpoint: a model moved to another one starts over, and calls sent before the move are not heard.
  const moves = new EndpointMoves()
  // Failures that got no answer from a provider's endpoint, across its models (`HealthChecker/Endpoints.ts`).
  const endpoints = new Endpoints()
  const clock = yield* Effect.clock
  const changed = yield* Effect.acquireRelease(PubSub.sliding<ModelHealth>(1_024), PubSub.shutdown)
  const probes = yield* FiberMap.make<string>()

  const entryOf = (map: ReadonlyMap<string, State.Entry>, model: string) => map.get(model) ?? State.initial(model)

  // The models other instances on the database find unavailable (`HealthChecker/Sync.ts`), the latest mark per model.
  let sharedMarks: ReadonlyMap<string, InstanceHealthMark> = new Map()

  /**
   * The mark of another instance that sets `entry`'s model aside here: its
   * own checks found it unavailable, and no check of this instance since says
   * it works (a success after the mark wins). None when this instance finds
   * it unavailable itself.
   */
  const sharedMarkOf = (entry: State.Entry): InstanceHealthMark | undefined => {
    if (sharedMarks.size === 0) return undefined
    const health = entry.health
    const mark = sharedMarks.get(health.model)
    if (mark === undefined || health.status === "unavailable") return undefined
    const succeededSince = health.status === "available" && health.consecutiveFailures === 0 && (health.lastCheckedAt ?? -Infinity) > mark.since
    return succeededSince ? undefined : mark
  }

  /** `entry`'s health as this instance reads it: its own, or unavailable by another instance's mark. */
  const effectiveHealth = (entry: State.Entry): ModelHealth => {
    const mark = sharedMarkOf(entry)
    return mark === undefined ? entry.health : { ...entry.health, status: "unavailable", reason: `unavailable on another instance: ${mark.reason}` }
  }

  /** Apply a transition (synchronously, hence atomically). */
  const applyNow = (model: string, f: (entry: State.Entry) => State.Transition): State.Transition => {
    const t = f(entryOf(entries, model))
    entries.set(model, t.entry)
    return t
  }

  /** Apply a transition atomically, then publish and record what it says. */
  const transition = (model: string, f: (entry: State.Entry) => State.Transition) =>
    Effect.flatMap(Effect.sync(() => applyNow(model, f)), announce)

  /** Publish and record what a transition says (nothing for most traffic reports). */
  const announce = (t: State.Transition): Effect.Effect<ModelHealth> =>
    t.record === undefined && t.from === t.to ? Effect.succeed(t.entry.health) : Effect.gen(function* () {
      const model = t.entry.health.model
      if (t.record !== undefined) yield* sink.offer(t.record)
      if (t.from !== t.to) {
        yield* PubSub.publish(changed, t.entry.health)
        if (t.from === "unavailable" || t.to === "unavailable") {
          const at = yield* Clock.currentTimeMillis
          yield* events.publish(new HealthChanged({ at, model, from: t.from, to: t.to, reason: t.entry.health.reason }))
          yield* Effect.logInfo(`model ${model} is ${t.to}: ${t.entry.health.reason}`)
        }
      }
      return t.entry.health
    })

  /**
   * What `check` of `model` (applied as `t`) says of the other models at its
   * endpoint (`HealthChecker/Endpoints.ts`), applied: the transitions of those
   * it takes out or brings back (none while every endpoint answers).
   */
  const endpointStep = (model: string, check: State.Check, t: State.Transition, settings: HealthCheckConfig): ReadonlyArray<State.Transition> => {
    if (endpoints.idle && (check.ok || check.endpoint === undefined)) return []
    if (check.ok) {
      const back = endpoints.answered(model)
      if (back.length === 0) return []
      const reason = `recovered: a ${check.source} of ${model} at the same endpoint succeeded`
      return back.map((m) => applyNow(m, (e) => passiveRetry(State.markEndpointBack(e, reason), check.at, settings)))
    }
    if (check.endpoint === undefined) {
      endpoints.answeredFailure(model, check.counts)
      return []
    }
    if (t.to === "unavailable") endpoints.takenOut(model)
    const down = endpoints.failed(model, check.endpoint, settings.failureThreshold, check.at, runWindowMs(settings))
    const streak = endpoints.streakOf(model)
    const out: Array<State.Transition> = []
    for (const m of down) {
      const entry = entries.get(m)
      if (entry === undefined || entry.health.status === "unavailable") continue
      const provider = endpoints.providerOf(m)
      const reason = `endpoint of ${provider} down: ${streak} calls or probes there in a row got no answer, last: ` +
        `${check.errorClass ?? "failure"} (${check.source} of ${model})`
      endpoints.takenOut(m)
      halfOpen.trip(m)
      out.push(applyNow(m, (e) => passiveRetry(State.markEndpointDown(e, reason), check.at, settings)))
    }
    return out
  }

  /** With health checks off, `t` with the time a real call may try its model again (`State.withPassiveRetry`). */
  const passiveRetry = (t: State.Transition, at: number, settings: HealthCheckConfig): State.Transition =>
    settings.enabled ? t : State.withPassiveRetry(t, at, settings)

  /** Apply `check` of `model` (and what it says of its endpoint), then publish and record; `model`'s health after it. */
  const applyAndAnnounce = (model: string, check: State.Check, settings: HealthCheckConfig, f: (entry: State.Entry) => State.Transition) =>
    Effect.suspend(() => {
      const t = applyNow(model, f)
      const others = endpointStep(model, check, t, settings)
      return others.length === 0 ? announce(t) : Effect.zipLeft(announce(t), Effect.forEach(others, announce, { discard: true }))
    })

  /** Apply `check` of `model`; its record names the model's provider. */
  const record = (model: ModelMetadata, check: State.Check) =>
    Effect.flatMap(config.get, (c) =>
      applyAndAnnounce(model.id, check, c.healthCheck, (e) => State.applyCheck(e, check, c.healthCheck.failureThreshold, runWindowMs(c.healthCheck), model.provider)))

  /** Why `model` cannot be probed at all (no adapter, no usable key), if so. */
  const blocked = (model: ModelMetadata) =>
    Effect.gen(function* () {
      const provider = providers.get(model.provider)
      if (provider === undefined) return `no adapter for provider ${model.provider}`
      if (provider.requiresKey && !(yield* apiKeys.hasKey(model.provider))) {
        // `next` fails (without rotating) when no key is usable; its message names the variables to set.
        return yield* Effect.flip(apiKeys.next(model.provider)).pipe(
          Effect.map((missing) => missing.message),
          Effect.orElseSucceed(() => `no usable API key for ${model.provider}`)
        )
      }
      return undefined
    })

  /** Call the adapter's probe within `timeoutMs`; a timeout or a defect is a failed check. */
  const probe = (model: ModelMetadata, settings: HealthCheckConfig) =>
    Effect.gen(function* () {
      const provider = providers.get(model.provider)
      if (provider === undefined) return undefined
      const key = provider.requiresKey ? yield* Effect.option(apiKeys.next(model.provider)) : Option.none()
      if (provider.requiresKey && Option.isNone(key)) return undefined
      const start = yield* Clock.currentTimeMillis
      const failed = (errorClass: string, endpoint?: EndpointEvidence) =>
        Effect.map(Clock.currentTimeMillis, (at): State.Check => ({ at, ok: false, latencyMs: at - start, errorClass, source: "probe", counts: true, endpoint }))
      return yield* provider.probe(model, Option.getOrUndefined(key)).pipe(
        Effect.timeoutOption(Duration.millis(settings.timeoutMs)),
        Effect.flatMap(
          Option.match({
            onNone: () => failed("Timeout", "stalled"),
            onSome: (r) =>
              Effect.gen(function* () {
                // A key refused (401/403) is the key's fault, not the model's: set it aside as traffic
                // does (the next probe takes another key, or finds none usable), and count nothing.
                const error = r.ok || r.error === undefined ? undefined : withKeyFingerprint(r.error, apiKeys.sharedIds)
                const refusedKey = error?._tag === "Unauthorized" ? (error.keyId ?? Option.getOrUndefined(key)?.id) : undefined
                if (error !== undefined && refusedKey !== undefined) yield* apiKeys.setAside(model.provider, refusedKey, error.message)
                const at = yield* Clock.currentTimeMillis
                return {
                  at,
                  ok: r.ok,
                  latencyMs: r.latencyMs,
                  errorClass: r.ok ? undefined : (r.error?._tag ?? "Unknown"),
                  source: "probe",
                  counts: r.ok || (r.error?._tag !== "RateLimited" && refusedKey === undefined),
                  unreachable: !r.ok && r.error !== undefined && isUnreachable(r.error) ? r.error.detail : undefined,
                  endpoint: !r.ok && r.error !== undefined ? endpointEvidence(r.error) : undefined
                } satisfies State.Check
              })
          })
        ),
        Effect.catchAllDefect((defect) => Effect.zipRight(Effect.logWarning(`probe of ${model.id} died`, defect), failed("Defect")))
      )
    })

  /** One probe of `model` (or the reason it cannot be probed), applied to its health. */
  const checkOnce = (model: ModelMetadata, settings: HealthCheckConfig) =>
    Effect.gen(function* () {
      const reason = yield* blocked(model)
      const check = reason === undefined ? yield* probe(model, settings) : undefined
      if (check === undefined) {
        return yield* transition(model.id, (e) => State.markUnavailable(e, reason ?? `no usable API key for ${model.provider}`))
      }
      return yield* record(model, check)
    })

  /**
   * The probe fiber of one model: probe, then wait the interval, or the
   * backoff while unavailable. The backoff schedule is stepped here rather
   * than by a driver (whose `next` sleeps first), so the time of the next
   * probe is known, and kept in the model's entry, while the fiber waits: the
   * wait queue reads it to tell whether waiting for this model can help.
   */
  const probeLoop = (model: ModelMetadata) =>
    Effect.gen(function* () {
      let backoff: { readonly schedule: Schedule.Schedule<Duration.Duration>; state: unknown } | undefined
      while (true) {
        const settings = (yield* config.get).healthCheck
        const health = yield* checkOnce(model, settings)
        const now = yield* Clock.currentTimeMillis
        let delay = Duration.millis(settings.intervalMs)
        if (health.status === "unavailable" && health.blocked !== true) {
          if (backoff === undefined) {
            const schedule = Schedule.delays(probeBackoff(settings))
            backoff = { schedule, state: schedule.initial }
          }
          const [state, next, decision] = yield* backoff.schedule.step(now, undefined, backoff.state)
          backoff.state = state
          // The backoff never ends; were it to, probes would go on at the interval.
          if (ScheduleDecision.isContinue(decision)) delay = next
        } else {
          backoff = undefined
        }
        const at = now + Duration.toMillis(delay)
        yield* Effect.sync(() => applyNow(model.id, (e) => State.scheduleProbe(e, at)))
        yield* Effect.sleep(delay)
      }
    })

  /**
   * Keep one probe fiber per enabled model (none when health checks are off).
   * A model's fiber starts over (a probe at once, no backoff) when its
   * provider model or its provider's section of the config changes: what was
   * learnt at the old endpoint says nothing about the new one. A model moved
   * to another endpoint (provider, provider model or base URL) also starts
   * over as `unknown` (`State.moved`), and real calls sent before the move
   * are not heard (`traffic`).
   */
  const running = new Map<string, string>()
  const sync = (models: ReadonlyArray<ModelMetadata>, settings: HealthCheckConfig, providerConfigs: GatewayConfigData["providers"]) =>
    Effect.gen(function* () {
      passive = !settings.enabled
      const enabled = models.filter((m) => m.enabled)
      const ids = new Set<string>(enabled.map((m) => m.id))
      // The probes of models gone first, so that none writes an entry after it was dropped.
      for (const id of [...running.keys()]) {
        if (!settings.enabled || !ids.has(id)) {
          running.delete(id)
          yield* FiberMap.remove(probes, id)
        }
      }
      yield* Effect.sync(() => {
        const gone = [...entries.keys()].filter((id) => !ids.has(id))
        for (const id of gone) {
          entries.delete(id)
          halfOpen.forget(id)
        }
        if (gone.length > 0) dropped = new Set(gone)
        for (const id of dropped) if (ids.has(id)) dropped.delete(id)
        for (const m of enabled) if (!entries.has(m.id)) entries.set(m.id, State.initial(m.id))
        endpoints.setModels(enabled, new Map(Object.entries(providerConfigs).map(([name, p]) => [name, p.baseUrl])))
      })
      // A model moved to another endpoint starts over there, before its probe (restarted below) runs.
      const moved = moves.update(models, providerConfigs, yield* Clock.currentTimeMillis)
      for (const id of moved) {
        if (!entries.has(id)) continue
        halfOpen.forget(id)
        yield* transition(id, State.moved)
      }
      for (const model of enabled) {
        if (!settings.enabled) {
          const reason = yield* blocked(model)
          if (reason !== undefined) yield* transition(model.id, (e) => State.markUnavailable(e, reason))
          continue
        }
        const section = providerConfigs[model.provider]
        const signature = `${model.provider}/${model.providerModel} ${section === undefined ? "" : JSON.stringify(section)}`
        if (running.get(model.id) === signature) continue
        running.set(model.id, signature)
        yield* FiberMap.run(probes, model.id, probeLoop(model))
      }
    })

  yield* Stream.zipLatest(registry.changes, config.changes).pipe(
    Stream.runForEach(([models, c]) => sync(models, c.healthCheck, c.providers)),
    Effect.forkScoped
  )

  /** A model's health as reported (another instance's mark included), with the time of its next probe when one is scheduled. */
  const reported = (entry: State.Entry): ModelHealth => {
    const health = effectiveHealth(entry)
    return entry.nextProbeAt === undefined ? health : { ...health, nextProbeAt: entry.nextProbeAt }
  }

  const status = (model: string) => Effect.sync(() => reported(entryOf(entries, model)))

  /** A success on a model that is healthy already: its last latency updated (true); false for any other model. */
  const healthySuccess = (model: string, latencyMs: number): boolean => {
    const health = entries.get(model)?.health
    if (health === undefined || health.status !== "available" || health.consecutiveFailures !== 0) return false
    halfOpen.forget(model)
    applyNow(model, (e) => State.applyCheck(e, { at: 0, ok: true, latencyMs, errorClass: undefined, source: "traffic", counts: true }, 1, Infinity))
    return true
  }
  /**
   * `record` of a real call's outcome, for a model the registry still has
   * enabled: a call in flight when a reload removed or disabled its model
   * leaves no entry behind (`all` lists the models the registry serves), even
   * when the reload lands between the registry's answer and the write. A call
   * sent (at `startedAt`) before its model moved to another endpoint is not
   * heard: it tells of the old endpoint.
   */
  const traffic = (model: string, check: State.Check, startedAt: number | undefined): Effect.Effect<void> =>
    startedAt !== undefined && moves.sentBefore(model, startedAt) ? Effect.void : Effect.flatMap(Effect.option(registry.get(model)), (m) =>
      Option.isNone(m) || !m.value.enabled ? Effect.void : Effect.flatMap(config.get, (c) => {
        const settings = c.healthCheck
        const apply = (e: State.Entry) => {
          // A model real calls took out is out again at its next failure (its trial call's), until the next probe.
          const threshold = !check.ok && halfOpen.has(model) ? 1 : settings.failureThreshold
          const t = passiveRetry(State.applyCheck(e, check, threshold, runWindowMs(settings), m.value.provider), check.at, settings)
          if (check.ok) halfOpen.forget(model)
          else if (t.to === "unavailable") halfOpen.trip(model)
          return t
        }
        // The check and the write in one synchronous step: no sync can drop the entry between them.
        return Effect.suspend(() => (dropped.has(model) ? Effect.void : Effect.asVoid(applyAndAnnounce(model, check, settings, apply))))
      }))
  const successAt = (at: number, model: string, latencyMs: number, startedAt: number | undefined) =>
    traffic(model, { at, ok: true, latencyMs, errorClass: undefined, source: "traffic", counts: true }, startedAt)

  /** Without probes, a model out is let through again once its retry time has come: the next call is its check. */
  const retryDue = (entry: State.Entry, now: number): boolean =>
    passive && entry.health.blocked !== true && entry.nextProbeAt !== undefined && now >= entry.nextProbeAt

  const trialReason = "recovering after failed real calls: one call at a time until one succeeds, and a trial call of it is in flight"
  const availabilityOf = (models: ReadonlyArray<string>, now: number) =>
    models.map((model): Availability => {
      const entry = entryOf(entries, model)
      const mark = sharedMarkOf(entry)
      if (mark !== undefined) {
        // Set aside by another instance: until its next probe, or this instance's own, whichever comes first.
        const probes = [mark.nextProbeAt, entry.nextProbeAt].filter((at): at is number => at !== undefined)
        const next = probes.length === 0 ? undefined : Math.min(...probes)
        return { health: effectiveHealth(entry), available: false, retryAfterMs: next === undefined ? undefined : Math.max(0, next - now) }
      }
      const health = entry.health
      const available = health.status !== "unavailable" || retryDue(entry, now)
      // Real calls took it out: one real call at a time until one succeeds (`claimTrial`).
      const gate = available && halfOpen.size > 0 ? halfOpen.pass(model, now) : true
      if (gate !== true) return { health: { ...health, reason: trialReason }, available: false, retryAfterMs: gate, trial: true }
      const next = available || health.blocked === true ? undefined : entry.nextProbeAt
      return { health, available, retryAfterMs: next === undefined ? undefined : Math.max(0, next - now) }
    })

  // With a `HealthMarkStore` (several instances on one database): share the models found unavailable.
  const markStore = yield* Effect.serviceOption(HealthMarkStore)
  if (Option.isSome(markStore)) {
    const sync = Sync.make({
      entries: () => entries.values(),
      store: markStore.value,
      instance: yield* InstanceId,
      gatewayConfig: config,
      defaultSyncIntervalMs: options.defaultSyncIntervalMs,
      onMarks: (marks) => void (sharedMarks = marks)
    })
    // Added before the sync's fiber, so run after it is interrupted: no sync writes the marks again.
    yield* Effect.addFinalizer(() => sync.leave)
    yield* Effect.forkScoped(sync.run)
  }

  return HealthChecker.of({
    status,
    isAvailable: (model) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const entry = entryOf(entries, model)
          const status = effectiveHealth(entry).status
          return status !== "unavailable" || (status === entry.health.status && retryDue(entry, clock.unsafeCurrentTimeMillis()))
        })
      ),
    all: Effect.sync(() => [...entries.values()].map(reported)),
    changes: Stream.fromPubSub(changed),
    history: (model) => Effect.sync(() => entryOf(entries, model).history),
    availability: (models) => Effect.map(Clock.currentTimeMillis, (now) => availabilityOf(models, now)),
    availabilityAt: (_config, now, models) => Effect.succeed(availabilityOf(models, now)),
    claimTrial: (model) => halfOpen.claim(model, clock.unsafeCurrentTimeMillis()),
    // A success on a healthy model only updates its last latency (no record, no event): one step.
    reportSuccess: (model: string, latencyMs: number, startedAt?: number) =>
      Effect.suspend(() =>
        endpoints.idle && healthySuccess(model, latencyMs)
          ? Effect.void
          : Effect.flatMap(Clock.currentTimeMillis, (at) => successAt(at, model, latencyMs, startedAt))
      ),
    reportSuccessAt: (now: number, model: string, latencyMs: number, startedAt?: number) =>
      endpoints.idle && healthySuccess(model, latencyMs) ? Effect.void : successAt(now, model, latencyMs, startedAt),
    reportFailure: (model: string, errorClass: ProviderErrorTag | string, startedAt?: number, endpoint?: EndpointEvidence) =>
      !healthFailureTags.has(errorClass as ProviderErrorTag) ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (at) =>
        traffic(model, { at, ok: false, latencyMs: 0, errorClass, source: "traffic", counts: true, endpoint }, startedAt))
  })
})

/**
 * Build the checker; its probe fibers live in the scope of the layer, and,
 * when the context has a `HealthMarkStore`, the sync that shares unavailable
 * models with other instances (`HealthChecker/Sync.ts`).
 */
export const make = makeWith({})

/** The live checker: needs the configuration, events, record sink, registry, provider adapters and keys. */
export const layer: Layer.Layer<HealthChecker, never, GatewayConfig | Events | RecordSink | ModelRegistry | Providers | ApiKeys> =
  Layer.scoped(HealthChecker, make)

/**
 * `layer`, sharing unavailable models every `defaultSyncIntervalMs` when the
 * configuration names no `healthCheck.syncIntervalMs` and the context has a
 * `HealthMarkStore` (GatewayLive: 1 s on PostgreSQL).
 */
export const layerWith = (options: {
  readonly defaultSyncIntervalMs?: number | undefined
}): Layer.Layer<HealthChecker, never, GatewayConfig | Events | RecordSink | ModelRegistry | Providers | ApiKeys> =>
  Layer.scoped(HealthChecker, makeWith(options))
