/**
 * `GatewayLive.layerWith` puts a caller's layer in place of each service it
 * assembles, not only the stores (`GatewayLiveSwapLayers.test.ts`): the event
 * bus, the API keys and every subsystem service up to the gateway. Each test
 * gives one double and sees the gateway use it (a request answered or refused
 * as only the double would); the default build's services and types stay as
 * they were, and a replaced service's own stores are not built.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as ApiKeys from "@modelgate/core/ApiKeys"
import * as CacheStore from "@modelgate/core/CacheStore"
import * as CostTracker from "@modelgate/core/CostTracker"
import { Events } from "@modelgate/core/Events"
import { Failover } from "@modelgate/core/Failover"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker, type ModelHealth } from "@modelgate/core/HealthChecker"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import * as PerformanceMonitor from "@modelgate/core/PerformanceMonitor"
import * as RateLimiter from "@modelgate/core/RateLimiter"
import * as LimiterStore from "@modelgate/core/RateLimiter/LimiterStore"
import * as RecordSink from "@modelgate/core/RecordSink"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"
import * as ResponseCache from "@modelgate/core/ResponseCache"
import * as ResponseEvaluator from "@modelgate/core/ResponseEvaluator"
import { AllCandidatesFailed, NoEligibleModel } from "@modelgate/domain/Errors"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { ConfigProvider, type Context, Effect, Exit, Layer, Stream } from "effect"
import { ask, models, recordEvents } from "./fixture.js"

/** `service` with each of its functions noting its name in `calls` when called. */
const spy = <S extends object>(service: S, calls: Array<string>): S =>
  Object.fromEntries(
    Object.entries(service).map(([name, value]) =>
      typeof value === "function" ? [name, (...args: Array<unknown>) => (calls.push(name), value(...args))] : [name, value]
    )
  ) as S

/** The service `tag` of `layer`, spied on into `calls`, as a layer of its own. */
const spied = <I, S extends object, E, R>(tag: Context.Tag<I, S>, layer: Layer.Layer<I, E, R>, calls: Array<string>) =>
  Layer.effect(tag, Effect.map(tag, (service) => spy(service, calls))).pipe(Layer.provide(layer))

/** Build the gateway on testkit fakes with `options`, under `configProvider` (default: the fakes' keys). */
const gatewayWith = (
  prefix: string,
  options: GatewayLive.GatewayLiveOptions,
  configProvider?: (fakes: FakeStackConfig.FakeStackConfig) => ConfigProvider.ConfigProvider
) =>
  Effect.gen(function* () {
    const fakes = yield* FakeStackConfig.make({ prefix: `modelgate-swap-${prefix}-`, models: models() })
    const live = GatewayLive.layerWith({ configDirectory: fakes.dir, watch: false, ...options })
    const context = yield* Layer.build(
      live.pipe(Layer.provide(Layer.setConfigProvider(configProvider?.(fakes) ?? fakes.configProvider)))
    )
    const complete = (model: string) =>
      Effect.provide(Effect.flatMap(Gateway, (gateway) => gateway.complete(ask("Hello", model), defaultRequirements)), context)
    return { fakes, context, complete }
  })

describe("GatewayLive.layerWith swaps services", () => {
  it.scoped("events: a capturing bus is the one every service publishes to, and it may forward to the live one", () =>
    Effect.gen(function* () {
      const captured: Array<GatewayEvent> = []
      const events = Layer.effect(
        Events,
        Effect.map(Events, (live) =>
          Events.of({ publish: (event) => Effect.suspend(() => (captured.push(event), live.publish(event))), subscribe: live.subscribe }))
      )
      const { complete, context } = yield* gatewayWith("events", { events })
      // Subscribed through the gateway's Events: what the double forwards reaches the live bus's subscribers.
      const recorded = yield* Effect.provide(recordEvents, context)
      yield* complete("auto")
      assert.include(captured.map((e) => e._tag), "ModelSelected", "the selection was published on the double")
      yield* recorded.waitFor("ModelSelected")
    }))

  it.scoped("apiKeys: keys given by the double are the ones used (none in the environment)", () =>
    Effect.gen(function* () {
      const noKeys = () => ConfigProvider.fromMap(new Map())
      const without = yield* gatewayWith("no-keys", {}, noKeys)
      assert.isTrue(Exit.isFailure(yield* Effect.exit(without.complete("gpt-4o-mini"))), "without a key the request fails")
      const { complete } = yield* gatewayWith(
        "keys",
        { apiKeys: ApiKeys.layerStatic({ openai: [FakeStackConfig.openAiApiKey] }) },
        noKeys
      )
      assert.strictEqual((yield* complete("gpt-4o-mini")).meta.model, "gpt-4o-mini")
    }))

  it.scoped("rateLimiter: the double is asked, and the limiter's own stores are not built", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      let storesBuilt = 0
      const limiterStore = Layer.merge(Layer.effectDiscard(Effect.sync(() => storesBuilt++)), LimiterStore.layerMemory)
      const rateLimiter = spied(RateLimiter.RateLimiter, RateLimiter.layerMemory.pipe(Layer.provide(RecordSink.layerMemory)), calls)
      const { complete } = yield* gatewayWith("limiter", { rateLimiter, limiterStore })
      yield* complete("gpt-4o-mini")
      assert.isTrue(calls.some((name) => name.startsWith("reserve")), `the double reserved the call (${calls.join(", ")})`)
      assert.strictEqual(storesBuilt, 0, "the live limiter is not built beside the double")
    }))

  it.scoped("costTracker: the double prices and books the request", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      const costTracker = spied(CostTracker.CostTracker, CostTracker.layer.pipe(Layer.provide(AccountingMemory.layerMemory)), calls)
      const { complete } = yield* gatewayWith("costs", { costTracker })
      yield* complete("gpt-4o-mini")
      assert.isTrue(calls.some((name) => name.startsWith("reserve")), `the double held the budget (${calls.join(", ")})`)
      assert.isTrue(calls.some((name) => name.startsWith("commit")), `the double booked the cost (${calls.join(", ")})`)
    }))

  it.scoped("performanceMonitor: the double records the call", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      const details = Layer.succeed(PerformanceMonitor.PerformanceDetails, {
        allPerformance: Effect.succeed([]),
        detectDegradation: () => Effect.succeed([]),
        isDegraded: () => Effect.succeed(false)
      })
      const performanceMonitor = Layer.merge(spied(PerformanceMonitor.PerformanceMonitor, PerformanceMonitor.layerStatic({}), calls), details)
      const { complete } = yield* gatewayWith("monitor", { performanceMonitor })
      yield* complete("gpt-4o-mini")
      assert.include(calls, "record")
    }))

  it.scoped("responseEvaluator: the double is asked", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      const responseEvaluator = spied(ResponseEvaluator.ResponseEvaluator, ResponseEvaluator.layerDisabled, calls)
      const { complete } = yield* gatewayWith("evaluator", { responseEvaluator })
      yield* complete("auto")
      assert.isNotEmpty(calls, "the selection or the answer went through the double")
    }))

  it.scoped("responseCache: a cache that keeps nothing serves no hit, and the cache store is not built", () =>
    Effect.gen(function* () {
      let storesBuilt = 0
      const cacheStore = Layer.merge(Layer.effectDiscard(Effect.sync(() => storesBuilt++)), CacheStore.layerMemory)
      const responseCache = Layer.effect(
        ResponseCache.ResponseCache,
        Effect.map(ResponseCache.ResponseCache, (live) => ResponseCache.ResponseCache.of({ ...live, set: () => Effect.void }))
      ).pipe(Layer.provideMerge(ResponseCache.layerMemory))
      const { complete, fakes } = yield* gatewayWith("cache", { responseCache, cacheStore })
      const first = yield* complete("gpt-4o-mini")
      const second = yield* complete("gpt-4o-mini")
      assert.isFalse(first.meta.cacheHit)
      assert.isFalse(second.meta.cacheHit, "the double kept nothing (the live cache serves the second: GatewayLiveSwapLayers.test.ts)")
      assert.strictEqual((yield* fakes.openai.requests).length, 2)
      assert.strictEqual(storesBuilt, 0, "the live cache's store is not built beside the double")
    }))

  it.scoped("healthChecker: a checker that finds gpt-4o-mini unavailable sends its request to the fallback", () =>
    Effect.gen(function* () {
      const down = (model: string) => model === "gpt-4o-mini"
      const healthChecker = Layer.succeed(HealthChecker, {
        status: (model) =>
          Effect.succeed<ModelHealth>({
            model,
            status: down(model) ? "unavailable" : "available",
            consecutiveFailures: down(model) ? 1 : 0,
            lastCheckedAt: undefined,
            lastLatencyMs: undefined,
            reason: down(model) ? "down (double)" : ""
          }),
        isAvailable: (model) => Effect.succeed(!down(model)),
        all: Effect.succeed([]),
        changes: Stream.empty,
        reportSuccess: () => Effect.void,
        reportFailure: () => Effect.void,
        history: () => Effect.succeed([])
      })
      const { complete, fakes } = yield* gatewayWith("health", { healthChecker })
      assert.strictEqual((yield* complete("gpt-4o-mini")).meta.model, "claude-haiku")
      assert.strictEqual((yield* fakes.openai.requests).length, 0, "the model the double calls down was not called")
    }))

  it.scoped("modelSelector: a selector that ranks nothing leaves no model", () =>
    Effect.gen(function* () {
      const modelSelector = Layer.succeed(ModelSelector, {
        rank: () => Effect.succeed({ ranked: [], excluded: [] }),
        select: () => Effect.fail(new NoEligibleModel({ exclusions: [] }))
      })
      const { complete, fakes } = yield* gatewayWith("selector", { modelSelector })
      assert.strictEqual((yield* Effect.flip(complete("auto")))._tag, "NoEligibleModel")
      assert.strictEqual((yield* fakes.openai.requests).length, 0)
    }))

  it.scoped("failover: a failover that tries nothing fails the request without a provider call", () =>
    Effect.gen(function* () {
      const failover = Layer.succeed(Failover, { run: () => Effect.fail(new AllCandidatesFailed({ failures: [], retryAfterMs: 4_321 })) })
      const { complete, fakes } = yield* gatewayWith("failover", { failover })
      const error = yield* Effect.flip(complete("gpt-4o-mini"))
      assert.strictEqual(error._tag, "AllCandidatesFailed")
      assert.strictEqual((error as AllCandidatesFailed).retryAfterMs, 4_321)
      assert.strictEqual((yield* fakes.openai.requests).length, 0)
    }))

  it.scoped("gateway: the double answers in place of the request path", () =>
    Effect.gen(function* () {
      const refuse = () => Effect.fail(new NoEligibleModel({ exclusions: [], retryAfterMs: 1_234 }))
      const gateway = Layer.succeed(Gateway, { complete: refuse, stream: refuse })
      const { complete } = yield* gatewayWith("gateway", { gateway })
      const error = yield* Effect.flip(complete("gpt-4o-mini"))
      assert.strictEqual((error as NoEligibleModel).retryAfterMs, 1_234)
    }))

  it("the default build's type is unchanged by the new options", () => {
    const swapped = GatewayLive.layerWith({
      events: Layer.effect(Events, Effect.map(Events, (live) => live)),
      apiKeys: ApiKeys.layerStatic({}),
      rateLimiter: RateLimiter.layerMemory.pipe(Layer.provide(RecordSink.layerMemory)),
      performanceMonitor: PerformanceMonitor.layer.pipe(Layer.provide(RecordSink.layerMemory)),
      responseEvaluator: ResponseEvaluator.layerDisabled,
      responseCache: ResponseCache.layerMemory
    })
    expectTypeOf<Layer.Layer.Success<typeof swapped>>().toEqualTypeOf<Layer.Layer.Success<typeof GatewayLive.layer>>()
    expectTypeOf<Layer.Layer.Context<typeof swapped>>().toEqualTypeOf<never>()
  })
})
