/**
 * The core gateway over memory stores and one scripted provider double, for
 * the cost-accounting tests: what each request was charged is read back from
 * the memory record sink, what the budgets hold from the tracker.
 */
import type { ChatRequest, ChatResponse, Usage } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { CostRecord, type PerformanceRecord } from "@modelgate/domain/Records"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Layer, TestClock } from "effect"
import * as ApiKeys from "../src/ApiKeys.js"
import * as CostStore from "../src/CostStore.js"
import * as CostTracker from "../src/CostTracker.js"
import * as Events from "../src/Events.js"
import * as Failover from "../src/Failover.js"
import * as Gw from "../src/Gateway.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { CacheConfig, defaultConfig, FailoverConfig, GatewayConfigData } from "../src/GatewayConfigSchema.js"
import * as HealthChecker from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as ModelSelector from "../src/ModelSelector.js"
import * as PerformanceMonitor from "../src/PerformanceMonitor.js"
import { type Provider, Providers } from "../src/Provider.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RecordSink from "../src/RecordSink.js"
import * as RecordStore from "../src/RecordStore.js"
import * as ResponseCache from "../src/ResponseCache.js"
import * as ResponseEvaluator from "../src/ResponseEvaluator.js"
import { layerReloadable } from "./ReloadableConfig.js"

/** The rate limiter a cost stack runs on (the memory one by default). */
type LimiterLayer = Layer.Layer<RateLimiter.RateLimiter, never, GatewayConfig.GatewayConfig | Events.Events | RecordSink.RecordSink>

/**
 * The gateway over `models`, every call answered by `provider`, its configuration from `config`, events on `events`,
 * limits by `limiter`, API keys by provider from `keys` (none by default).
 */
const stackOver = <E, C>(
  events: Layer.Layer<Events.Events | E>,
  config: Layer.Layer<GatewayConfig.GatewayConfig | C, never, Events.Events>,
  models: ReadonlyArray<ModelMetadata>,
  provider: Provider,
  limiter: LimiterLayer = RateLimiter.layerMemory,
  keys: Readonly<Record<string, ReadonlyArray<string>>> = {}
) =>
  Gw.layer.pipe(
    Layer.provideMerge(Failover.layer),
    Layer.provideMerge(ModelSelector.layer),
    Layer.provideMerge(HealthChecker.layer),
    Layer.provideMerge(Layer.mergeAll(limiter, PerformanceMonitor.layer, ResponseEvaluator.layer, ResponseCache.layerMemory)),
    Layer.provideMerge(CostTracker.layer.pipe(Layer.provide(CostStore.layerMemory), Layer.provide(RecordStore.layerMemory))),
    Layer.provideMerge(Layer.mergeAll(
      ModelRegistry.layerMemory(models),
      ApiKeys.layerStatic(keys),
      Layer.succeed(Providers, Providers.fromList([provider]))
    )),
    Layer.provideMerge(RecordSink.layerMemory),
    Layer.provideMerge(config),
    Layer.provideMerge(events)
  )

/** `config` over the defaults: failover without backoff and no queue wait unless it says otherwise, the response cache off unless it says otherwise. */
export const costConfig = (config: Partial<typeof GatewayConfigData.Type> = {}): GatewayConfigData =>
  GatewayConfigData.make({
    ...defaultConfig,
    cache: CacheConfig.make({ enabled: false }),
    ...config,
    failover: config.failover ?? FailoverConfig.make({ ...defaultConfig.failover, backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 })
  })

/**
 * The gateway over `models`, every call answered by `provider`; failover
 * without backoff and no queue wait (nothing waits on the test clock) unless
 * `config.failover` says otherwise, the response cache as `config` says (off
 * by default), events on `events`, the memory rate limiter (or `limiter`).
 */
export const costStackOn = <E>(events: Layer.Layer<Events.Events | E>) =>
(
  models: ReadonlyArray<ModelMetadata>,
  provider: Provider,
  config: Partial<typeof GatewayConfigData.Type> = {},
  limiter: LimiterLayer = RateLimiter.layerMemory,
  keys: Readonly<Record<string, ReadonlyArray<string>>> = {}
) => stackOver(events, GatewayConfig.layerStatic(costConfig(config)), models, provider, limiter, keys)

/** `costStack` whose configuration starts at `initial` and changes with `ConfigFiles.apply` (a reload). */
export const costStackReloadable = (models: ReadonlyArray<ModelMetadata>, provider: Provider, initial: GatewayConfigData) =>
  stackOver(Events.layer, layerReloadable(initial), models, provider)

/** `costStackOn` the live event bus. */
export const costStack = costStackOn(Events.layer)

/** `read` again until it is not empty, yielding between tries (at most 50): for what another fiber writes while the clock stands still. */
export const untilSome = <A, R>(read: Effect.Effect<ReadonlyArray<A>, never, R>): Effect.Effect<ReadonlyArray<A>, never, R> =>
  Effect.gen(function* () {
    let all = yield* read
    for (let i = 0; i < 50 && all.length === 0; i++) {
      yield* Effect.yieldNow()
      all = yield* read
    }
    return all
  })

/** Every cost record offered so far, in order. */
export const costRecords = Effect.map(
  Effect.flatMap(RecordSink.MemoryRecords, (records) => records.all),
  (all) => all.filter((r): r is CostRecord => r instanceof CostRecord || (r as { _tag?: string })._tag === "CostRecord")
)

/** Every performance record offered so far, as [model, success, errorClass]. */
export const performanceRecords = Effect.map(
  Effect.flatMap(RecordSink.MemoryRecords, (records) => records.all),
  (all) =>
    all
      .filter((r): r is PerformanceRecord => (r as { _tag?: string })._tag === "PerformanceRecord")
      .map((r) => [r.model, r.success, r.errorClass] as const)
)

/** The global daily budget: [reserved, spent]. */
export const globalDay = Effect.map(
  Effect.flatMap(CostTracker.CostTracker, (costs) => costs.budgetStatus),
  (all) => {
    const day = all.find((b) => b.budget === "global" && b.period === "daily")
    return [day?.reservedPicoUsd, day?.spentPicoUsd] as const
  }
)

/**
 * Stream a request to `model` that nobody reads, let the abandonment delay
 * pass (TestClock) and return the cost records once the abandonment, which
 * runs on its own fiber, has written one (or after 50 yields).
 */
export const abandonedStream = (model: string, content: string) =>
  Effect.gen(function* () {
    const gateway = yield* Gw.Gateway
    yield* gateway.stream(ask(model, content, { stream: true }), requirements)
    yield* TestClock.adjust("31 seconds")
    return yield* untilSome(costRecords)
  })

/** A complete answer of `model` ("Once upon a time.") that reports `usage`. */
export const storyAnswer = (model: string, usage: Usage): ChatResponse => ({
  id: "up",
  object: "chat.completion",
  created: 0,
  model,
  choices: [{ index: 0, message: { role: "assistant", content: "Once upon a time." }, finish_reason: "stop" }],
  usage
})

/** A one-message request to `model`. */
export const ask = (model: string, content = "tell me a story", extra: Partial<ChatRequest> = {}): ChatRequest =>
  ({ ...extra, model, messages: [{ role: "user", content }] }) as ChatRequest

/** Requirements with nothing asked. */
export const requirements: TaskRequirements = { capabilities: [], priority: "MEDIUM" } as unknown as TaskRequirements
