/**
 * Test doubles for the routing tests (selector, failover, optimizer,
 * integration): models, a controllable HealthChecker, RateLimiter,
 * PerformanceMonitor, an Events bus that records, ApiKeys.
 */
import { MissingApiKey } from "@modelgate/domain/Errors"
import type { GatewayEvent } from "@modelgate/domain/Events"
import type { GatewayRecord } from "@modelgate/domain/Records"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Layer, Option, Redacted, Ref, Schema, Stream } from "effect"
import { ApiKeys } from "../src/ApiKeys.js"
import type { CostTracker } from "../src/CostTracker.js"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, FailoverConfig, GatewayConfigData } from "../src/GatewayConfigSchema.js"
import * as Failover from "../src/Failover.js"
import { RecordSink } from "../src/RecordSink.js"
import type { ModelOptimizer } from "../src/ModelOptimizer.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as ModelSelector from "../src/ModelSelector.js"
import type { ResponseEvaluator } from "../src/ResponseEvaluator.js"
import { HealthChecker, type ModelHealth } from "../src/HealthChecker.js"
import { PerformanceMonitor, type ModelPerformance } from "../src/PerformanceMonitor.js"
import { type Headroom, RateLimiter } from "../src/RateLimiter.js"

/** A model with sensible defaults; override any field. */
export const model = (id: string, overrides: Partial<typeof ModelMetadata.Encoded> = {}): ModelMetadata =>
  Schema.decodeUnknownSync(ModelMetadata)({
    id,
    provider: "openai",
    providerModel: id,
    displayName: id,
    capabilities: ["chat", "streaming"],
    contextWindow: 128_000,
    maxOutputTokens: 16_000,
    pricing: { inputPerMillion: 1, outputPerMillion: 4 },
    rateLimits: { rpm: 1_000, tpm: 1_000_000 },
    qualityTier: "standard",
    qualityScore: 0.8,
    enabled: true,
    fallbacks: [],
    tags: [],
    ...overrides
  })

/** A HealthChecker whose statuses the test sets; `reportFailure` of a health class x3 makes a model unavailable. */
export const makeHealth = (threshold = 3) =>
  Effect.gen(function*() {
    const state = yield* Ref.make(new Map<string, ModelHealth>())
    const reports = yield* Ref.make<ReadonlyArray<{ model: string; ok: boolean; errorClass?: string }>>([])
    const get = (model: string) =>
      Effect.map(Ref.get(state), (m): ModelHealth =>
        m.get(model) ?? {
          model,
          status: "unknown",
          consecutiveFailures: 0,
          lastCheckedAt: undefined,
          lastLatencyMs: undefined,
          reason: "never checked"
        })
    const put = (h: ModelHealth) => Ref.update(state, (m) => new Map(m).set(h.model, h))
    const set = (model: string, available: boolean, reason = available ? "ok" : "down") =>
      Effect.flatMap(get(model), (h) =>
        put({ ...h, status: available ? "available" : "unavailable", consecutiveFailures: available ? 0 : threshold, reason }))
    const service = HealthChecker.of({
      status: get,
      isAvailable: (m) => Effect.map(get(m), (h) => h.status !== "unavailable"),
      all: Effect.map(Ref.get(state), (m) => [...m.values()]),
      changes: Stream.empty,
      history: () => Effect.succeed([]),
      reportSuccess: (m) =>
        Ref.update(reports, (r) => [...r, { model: m, ok: true }]).pipe(Effect.zipRight(set(m, true))),
      reportFailure: (m, errorClass) =>
        Ref.update(reports, (r) => [...r, { model: m, ok: false, errorClass }]).pipe(
          Effect.zipRight(get(m)),
          Effect.flatMap((h) => {
            const n = h.consecutiveFailures + 1
            return put({ ...h, consecutiveFailures: n, ...(n >= threshold ? { status: "unavailable", reason: errorClass } : {}) })
          })
        )
    })
    return { service, set, reports: Ref.get(reports) }
  })

/** A RateLimiter whose headroom per model the test sets (default: empty and fitting); reserve always succeeds. */
export const makeLimiter = Effect.gen(function*() {
  const rooms = yield* Ref.make(new Map<string, Partial<Headroom>>())
  let n = 0
  const headroom = (m: ModelMetadata): Effect.Effect<Headroom> =>
    Effect.map(Ref.get(rooms), (r) => ({
      fits: true,
      retryAfterMs: 0,
      requestsUsed: 0,
      tokensUsed: 0,
      rpm: m.rateLimits.rpm,
      tpm: m.rateLimits.tpm,
      ...r.get(m.id)
    }))
  const service = RateLimiter.of({
    reserve: (m, tokens, keyId) => Effect.succeed({ id: `r${n++}`, model: m.id, keyId, tokens, at: 0 }),
    settle: () => Effect.void,
    release: () => Effect.void,
    observe: () => Effect.void,
    headroom
  })
  const set = (model: string, room: Partial<Headroom>) => Ref.update(rooms, (r) => new Map(r).set(model, room))
  return { service, set }
})

/** A PerformanceMonitor whose per-model figures the test sets. */
export const makeMonitor = Effect.gen(function*() {
  const data = yield* Ref.make(new Map<string, ModelPerformance>())
  // Only what the selector reads of the monitor.
  const reads: Pick<PerformanceMonitor["Type"], "record" | "modelPerformance"> = {
    record: () => Effect.void,
    modelPerformance: (m) => Effect.map(Ref.get(data), (d) => Option.fromNullable(d.get(m)))
  }
  const service = reads as PerformanceMonitor["Type"]
  const set = (model: string, p: Omit<ModelPerformance, "model" | "ttftP50Ms" | "tokensPerSecond" | "errorsByClass">) =>
    Ref.update(data, (d) =>
      new Map(d).set(model, { model, ttftP50Ms: undefined, tokensPerSecond: undefined, errorsByClass: {}, ...p }))
  return { service, set }
})

/** An Events bus that keeps everything published. */
export const makeEvents = Effect.gen(function*() {
  const all = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
  const service = Events.of({ publish: (e) => Ref.update(all, (a) => [...a, e]), subscribe: Stream.empty })
  return { service, all: Ref.get(all) }
})

/** ApiKeys with `count` keys per listed provider (`openai#1` ...), recording what was set aside. */
export const makeKeys = (providers: Record<string, number>) =>
  Effect.gen(function*() {
    const aside = yield* Ref.make<ReadonlyArray<{ provider: string; keyId: string; reason: string }>>([])
    const cursor = yield* Ref.make(0)
    const usable = (provider: string) =>
      Effect.map(Ref.get(aside), (a) =>
        Array.from({ length: providers[provider] ?? 0 }, (_, i) => `${provider}#${i + 1}`)
          .filter((id) => !a.some((x) => x.keyId === id)))
    const service = ApiKeys.of({
      next: (provider) =>
        Effect.gen(function*() {
          const keys = yield* usable(provider)
          if (keys.length === 0) return yield* new MissingApiKey({ provider, reason: "every key set aside" })
          const i = yield* Ref.getAndUpdate(cursor, (c) => c + 1)
          const id = keys[i % keys.length]!
          return { id, value: Redacted.make(`secret-${id}`) }
        }),
      hasKey: (provider) => Effect.map(usable(provider), (k) => k.length > 0),
      setAside: (provider, keyId, reason) => Ref.update(aside, (a) => [...a, { provider, keyId, reason }]),
      status: Effect.succeed([]),
      validate: () => Effect.void
    })
    return { service, aside: Ref.get(aside) }
  })

/** A selector over `models` with controllable doubles; `extra` adds optional services. */
export const setupSelector = <ROut extends CostTracker | ResponseEvaluator | ModelOptimizer = never>(
  models: ReadonlyArray<ModelMetadata>,
  extra?: Layer.Layer<ROut>,
  options: {
    readonly monitor?: boolean
    readonly config?: GatewayConfigData
    readonly health?: Effect.Effect.Success<ReturnType<typeof makeHealth>>
  } = {}
) =>
  Effect.gen(function*() {
    const health = options.health ?? (yield* makeHealth())
    const limiter = yield* makeLimiter
    const monitor = yield* makeMonitor
    const events = yield* makeEvents
    const base = Layer.mergeAll(
      ModelRegistry.layerMemory(models),
      Layer.succeed(HealthChecker, health.service),
      Layer.succeed(RateLimiter, limiter.service),
      Layer.succeed(Events, events.service),
      GatewayConfig.layerStatic(options.config),
      extra ?? Layer.empty
    )
    const layer = options.monitor === false
      ? base
      : Layer.merge(base, Layer.succeed(PerformanceMonitor, monitor.service))
    const selector = yield* Effect.provide(ModelSelector.make, layer)
    return { selector, health, limiter, monitor, events }
  })


/** A RecordSink that keeps what it was offered. */
export const makeSink = Effect.gen(function*() {
  const all = yield* Ref.make<ReadonlyArray<GatewayRecord>>([])
  const service = RecordSink.of({ offer: (r) => Ref.update(all, (a) => [...a, r]) })
  return { service, all: Ref.get(all) }
})

/** A Failover runner over doubles (health, events, sink, keys); `extra` adds e.g. a ModelOptimizer. */
export const setupFailover = <ROut extends ModelOptimizer = never>(
  options: {
    readonly failover?: Partial<typeof FailoverConfig.Type>
    readonly keys?: Record<string, number>
    readonly health?: Effect.Effect.Success<ReturnType<typeof makeHealth>>
    readonly extra?: Layer.Layer<ROut>
  } = {}
) =>
  Effect.gen(function*() {
    const health = options.health ?? (yield* makeHealth())
    const events = yield* makeEvents
    const sink = yield* makeSink
    const keys = yield* makeKeys(options.keys ?? { openai: 2, anthropic: 1 })
    const config = GatewayConfigData.make({
      ...defaultConfig,
      failover: FailoverConfig.make({ ...defaultConfig.failover, ...options.failover })
    })
    const layer = Layer.mergeAll(
      GatewayConfig.layerStatic(config),
      Layer.succeed(Events, events.service),
      Layer.succeed(RecordSink, sink.service),
      Layer.succeed(HealthChecker, health.service),
      Layer.succeed(ApiKeys, keys.service),
      options.extra ?? Layer.empty
    )
    // No registry in this layer: the runner follows none and forks nothing, so closing the scope at once changes nothing.
    const failover = yield* Effect.scoped(Effect.provide(Failover.make, layer))
    return { failover, health, events, sink, keys }
  })
