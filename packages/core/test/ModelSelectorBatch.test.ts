import { assert, describe, it } from "@effect/vitest"
import { fromUsd } from "@modelgate/domain/Money"
import { CostRecord, PerformanceRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, TestClock } from "effect"
import * as ApiKeys from "../src/ApiKeys.js"
import * as CostTrackerModule from "../src/CostTracker.js"
import { CostTracker } from "../src/CostTracker.js"
import * as Events from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData, HealthCheckConfig, RecordsConfig } from "../src/GatewayConfigSchema.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as ModelSelector from "../src/ModelSelector.js"
import * as PerformanceMonitorModule from "../src/PerformanceMonitor.js"
import { PerformanceMonitor } from "../src/PerformanceMonitor.js"
import { type Provider, Providers } from "../src/Provider.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import { RateLimiter } from "../src/RateLimiter.js"
import * as RecordStore from "../src/RecordStore.js"
import * as RecordWriterMemory from "../src/RecordWriter/Memory.js"
import * as ResponseEvaluatorModule from "../src/ResponseEvaluator.js"
import { ResponseEvaluator } from "../src/ResponseEvaluator.js"
import { testModel } from "./TestModels.js"

const models = [
  testModel("fast", { qualityScore: 0.7 }),
  testModel("slow", { qualityScore: 0.8 }),
  testModel("down"),
  testModel("spent"),
  testModel("busy", { rateLimits: { rpm: 2, tpm: 100_000 } }),
  testModel("cheap", { pricing: { inputPerMillion: 0.1, outputPerMillion: 0.2 } }),
  testModel("fresh", { qualityScore: 0.9, pricing: { inputPerMillion: 5, outputPerMillion: 15 } })
]

const double: Provider = {
  id: "openai",
  requiresKey: true,
  chat: () => Effect.die("not used"),
  stream: () => Effect.die("not used"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

/** The live services the selector reads, over memory stores. */
const live = () => {
  const config = new GatewayConfigData({
    ...defaultConfig,
    healthCheck: HealthCheckConfig.make({ ...defaultConfig.healthCheck, enabled: false }),
    budgets: BudgetsConfig.make({ ...defaultConfig.budgets, perModel: { spent: BudgetLimit.make({ daily: 0.01 }) } }),
    records: RecordsConfig.make({ ...defaultConfig.records, flushIntervalMs: 3_600_000 })
  })
  return Layer.mergeAll(
    RateLimiterModule.layerMemory,
    PerformanceMonitorModule.layer,
    ResponseEvaluatorModule.layer,
    CostTrackerModule.layer,
    HealthCheckerModule.layer
  ).pipe(
    Layer.provideMerge(RecordWriterMemory.layerOver(RecordStore.layerMemory)),
    Layer.provideMerge(
      Layer.mergeAll(
        ModelRegistry.layerMemory(models),
        ApiKeys.layerStatic({ openai: ["k"] }),
        Layer.succeed(Providers, Providers.fromList([double]))
      )
    ),
    Layer.provideMerge(Events.layer),
    Layer.provideMerge(GatewayConfig.layerStatic(config))
  )
}

describe("ModelSelector batch reads", () => {
  it.scoped("the live services' batch and `…At` members rank exactly like one call per model", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(live())
      const health = Context.get(context, HealthChecker)
      const limiter = Context.get(context, RateLimiter)
      const costs = Context.get(context, CostTracker)
      const monitor = Context.get(context, PerformanceMonitor)
      const evaluator = Context.get(context, ResponseEvaluator)
      const byId = (id: string) => models.find((m) => m.id === id)!
      // Shape the state: latencies, an unavailable model, a spent budget, a full rate limit.
      yield* TestClock.adjust(1_000)
      for (let i = 0; i < 20; i++) {
        const at = yield* Clock.currentTimeMillis
        for (const [id, latencyMs, success] of [["fast", 50, true], ["slow", 1_500, i % 3 !== 0], ["cheap", 300, true]] as const) {
          yield* monitor.record(PerformanceRecord.make({
            at, requestId: `r${i}${id}`, model: id, provider: "openai", latencyMs, success, outputTokens: 20, streamed: false, cacheHit: false,
            ...(success ? {} : { errorClass: "ServerError" })
          }))
        }
        yield* TestClock.adjust(10)
      }
      for (let i = 0; i < 3; i++) yield* health.reportFailure("down", "ServerError")
      yield* health.reportSuccess("fast", 50)
      const hold = yield* costs.reserve(byId("spent"), undefined, fromUsd(0.001))
      yield* costs.commit(hold, CostRecord.make({
        at: yield* Clock.currentTimeMillis, requestId: "q", model: "spent", provider: "openai",
        promptTokens: 1, completionTokens: 1, cachedTokens: 0, costPicoUsd: fromUsd(0.02), cacheHit: false
      }))
      yield* limiter.reserve(byId("busy"), 10)
      yield* limiter.reserve(byId("busy"), 10)

      // Without their batch members: the selector then calls each service once per model.
      const { availability: _availability, ...healthAlone } = health
      const { headroomAll: _headroomAll, ...limiterAlone } = limiter
      const { checkBudgets: _checkBudgets, ...costsAlone } = costs
      const { modelPerformances: _modelPerformances, ...monitorAlone } = monitor
      const { penalties: _penalties, ...evaluatorAlone } = evaluator
      const services = (strip: boolean) =>
        Layer.mergeAll(
          Layer.succeedContext(context), // first: the services below replace its own
          Layer.succeed(HealthChecker, strip ? healthAlone : health),
          Layer.succeed(RateLimiter, strip ? limiterAlone : limiter),
          Layer.succeed(CostTracker, strip ? costsAlone : costs),
          Layer.succeed(PerformanceMonitor, strip ? monitorAlone : monitor),
          Layer.succeed(ResponseEvaluator, strip ? evaluatorAlone : evaluator)
        )
      const batched = yield* Effect.provide(ModelSelector.make, services(false))
      const single = yield* Effect.provide(ModelSelector.make, services(true))
      const view = (r: ModelSelector.Ranking) => ({
        ranked: r.ranked.map((s) => ({ id: s.model.id, score: s.score, parts: s.parts, weights: s.weights, explanation: s.explanation })),
        excluded: r.excluded,
        retryAfterMs: r.retryAfterMs
      })
      // Dry runs: a real ranking claims a trial for a model with no data it puts first, and the next would differ.
      const inputs: ReadonlyArray<ModelSelector.SelectionInput> = [
        { requirements: { capabilities: [], priority: "MEDIUM" }, estimatedPromptTokens: 100, maxOutputTokens: 100, dryRun: true },
        { requirements: { capabilities: [], priority: "CRITICAL", maxLatencyMs: 500 }, estimatedPromptTokens: 100, maxOutputTokens: 100, dryRun: true },
        { requirements: { capabilities: [], priority: "LOW", maxCostPerRequestUsd: 0.0005 }, estimatedPromptTokens: 100, maxOutputTokens: 100, dryRun: true },
        {
          requirements: { capabilities: [], priority: "HIGH" },
          estimatedPromptTokens: 100,
          maxOutputTokens: 100,
          only: ["busy", "openai/fresh", "nope", "spent", "slow"],
          dryRun: true
        }
      ]
      const gatewayConfig = yield* Effect.provide(GatewayConfig.GatewayConfig, Layer.succeedContext(context))
      for (const input of inputs) {
        const a = view(yield* batched.rank(input))
        const b = view(yield* single.rank(input))
        assert.deepStrictEqual(a, b)
        // rankAt on the caller's config and time: the services' `…At` members, the same ranking
        const c = view(yield* batched.rankAt!(yield* gatewayConfig.get, yield* Clock.currentTimeMillis, input))
        assert.deepStrictEqual(c, a)
      }
      // and the state did shape the ranking: each kind of exclusion, performance told apart
      const all = view(yield* batched.rank(inputs[0]!))
      assert.deepStrictEqual(
        Object.fromEntries(all.excluded.map((e) => [e.model, e.kind])),
        { down: "unavailable", spent: "budget", busy: "rate_limited" }
      )
      const parts = Object.fromEntries(all.ranked.map((s) => [s.id, s.parts.performance]))
      assert.isAbove(parts["fast"]!, parts["slow"]!)
      assert.strictEqual(parts["fresh"], parts["fast"], "no data: the benefit of the doubt, as good as the best measured")
    }))
})
