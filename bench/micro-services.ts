/**
 * Micro benchmark of each per-request service call on `GatewayLive` (bench/config,
 * provider doubles): Effect ops per call (patched runtime counter, see
 * `node bench/effect-counters.mjs`) and CPU per call, one line per service method, in the
 * order the request path calls them.
 *
 *   node --import tsx bench/micro-services.ts [filter]
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`).
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import { ApiKeys } from "@modelgate/core/ApiKeys"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { CostTracker } from "@modelgate/core/CostTracker"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { ModelSelector } from "@modelgate/core/ModelSelector"
import { PerformanceMonitor } from "@modelgate/core/PerformanceMonitor"
import { type Provider, Providers } from "@modelgate/core/Provider"
import { RateLimiter } from "@modelgate/core/RateLimiter"
import { RecordSink } from "@modelgate/core/RecordSink"
import { ResponseCache } from "@modelgate/core/ResponseCache"
import { ResponseEvaluator } from "@modelgate/core/ResponseEvaluator"
import { estimatePromptTokens } from "@modelgate/core/TokenEstimator"
import { CostRecord, PerformanceRecord } from "@modelgate/domain/Records"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { Clock, ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const double = (id: string): Provider => ({
  id,
  requiresKey: true,
  chat: () => Effect.die("not used"),
  stream: () => Effect.die("not used"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-micro-services-"))
const layer = GatewayLive.layerWith({
  configDirectory: process.env["MICRO_CONFIG"] ?? "bench/config",
  watch: false,
  providers: Layer.succeed(Providers, Providers.fromList([double("openai"), double("anthropic"), double("google"), double("ollama")]))
}).pipe(
  Layer.provide(
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", "k"], ["ANTHROPIC_API_KEY", "k"], ["GEMINI_API_KEY", "k"], ["MODELGATE_DB", path.join(dir, "m.db")]])))
  )
)
const filter = process.argv[2]
const counter = (): number => (globalThis as unknown as { __mg?: { ops: number } }).__mg?.ops ?? 0
const warmup = 3000
const n = Number(process.env["MICRO_N"] ?? 5000)

const measure = (name: string, body: (i: number) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    if (filter !== undefined && !name.includes(filter)) return
    for (let i = 0; i < warmup; i++) yield* body(i)
    let best = Number.POSITIVE_INFINITY
    let ops = 0
    for (let b = 0; b < 3; b++) {
      const o0 = counter()
      const c0 = process.cpuUsage()
      for (let i = 0; i < n; i++) yield* body(i)
      const c1 = process.cpuUsage(c0)
      ops = (counter() - o0) / n
      best = Math.min(best, (c1.user + c1.system) / n)
    }
    console.log(`${name.padEnd(36)} ops/call ${ops.toFixed(1).padStart(6)}   cpu best ${best.toFixed(2).padStart(7)} us/call`)
  })

const program = Effect.gen(function*() {
  const registry = yield* ModelRegistry
  const selector = yield* ModelSelector
  const limiter = yield* RateLimiter
  const keys = yield* ApiKeys
  const costs = yield* CostTracker
  const performance = yield* PerformanceMonitor
  const health = yield* HealthChecker
  const cache = yield* ResponseCache
  const evaluator = yield* ResponseEvaluator
  const model = yield* registry.get("gpt-4o-mini")
  const request: ChatRequest = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] }
  const requirements = { capabilities: [], priority: "MEDIUM" } as const
  const response: ChatResponse = {
    id: "x",
    object: "chat.completion",
    created: 0,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 }
  }

  yield* measure("registry.resolve", () => registry.resolve("gpt-4o-mini"))
  yield* measure("registry.get", () => registry.get("gpt-4o-mini"))
  yield* measure("cache.cacheable", () => cache.cacheable(request))
  yield* measure("cache.get", () => cache.get("nokey"))
  yield* measure("estimatePromptTokens (fresh request)", () =>
    Effect.sync(() => estimatePromptTokens({ ...request }, model)))
  yield* measure("selector.rank only", () =>
    selector.rank({ requirements, estimatedPromptTokens: 12, maxOutputTokens: 1024, requestId: "r", only: ["gpt-4o-mini"] }))
  yield* measure("selector.rank only+fallbacks", () =>
    selector.rank({ requirements, estimatedPromptTokens: 12, maxOutputTokens: 1024, requestId: "r", only: [model.id, ...model.fallbacks] }))
  yield* measure("selector.rank auto", () =>
    selector.rank({ requirements, estimatedPromptTokens: 12, maxOutputTokens: 1024, requestId: "r", only: undefined }))
  const conf = yield* (yield* GatewayConfig).get
  yield* measure("selector.rankAt only+fallbacks", () =>
    selector.rankAt!(conf, Date.now(), { requirements, estimatedPromptTokens: 12, maxOutputTokens: 1024, requestId: "r", only: [model.id, ...model.fallbacks] }))
  yield* measure("limiter.reserveAt+settleAt", () =>
    Effect.flatMap(limiter.reserveAt!(conf, Date.now(), model, 0, "openai#0"), (r) => limiter.settleAt!(conf, Date.now(), r, 0)))
  yield* measure("costs.reserveAt+commitAt", () =>
    Effect.flatMap(costs.reserveAt!(conf, Date.now(), model, undefined, 1000 as never), (r) =>
      costs.commitAt!(conf, Date.now(), r, new CostRecord({
        at: Date.now(), requestId: "r", model: model.id, provider: model.provider, apiKeyId: "openai#0", agentType: undefined,
        taskType: undefined, promptTokens: 3, completionTokens: 3, cachedTokens: 0, costPicoUsd: 0, cacheHit: false
      }, true))))
  yield* measure("performance.recordAt", (i) =>
    performance.recordAt!(conf, Date.now(), new PerformanceRecord({
      at: Date.now(), requestId: "r", model: model.id, provider: model.provider, latencyMs: 1 + (i % 17), timeToFirstTokenMs: undefined,
      streamed: false, agentType: undefined, success: true, outputTokens: 3, cacheHit: false
    }, true)))
  yield* measure("keys.next", () => keys.next("openai"))
  yield* measure("costs.reserve+commit", () =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatMap(costs.reserve(model, undefined, 1000 as never), (r) =>
        costs.commit(
          r,
          new CostRecord({
            at: now,
            requestId: "r",
            model: model.id,
            provider: model.provider,
            apiKeyId: "openai#0",
            agentType: undefined,
            taskType: undefined,
            promptTokens: 3,
            completionTokens: 3,
            cachedTokens: 0,
            costPicoUsd: 0,
            cacheHit: false
          }, true)
        ))))
  yield* measure("limiter.reserve+settle", () =>
    Effect.flatMap(limiter.reserve(model, 0, "openai#0"), (r) => limiter.settle(r, 0)))
  yield* measure("health.reportSuccess", () => health.reportSuccess(model.id, 3))
  const performanceRecord = (now: number, i: number) =>
    new PerformanceRecord({
      at: now,
      requestId: "r",
      model: model.id,
      provider: model.provider,
      latencyMs: 1 + (i % 17),
      timeToFirstTokenMs: undefined,
      streamed: false,
      agentType: undefined,
      success: true,
      outputTokens: 3,
      cacheHit: false
    }, true)
  yield* measure("performance.record", (i) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      performance.record(performanceRecord(now, i))))
  const sink = yield* RecordSink
  yield* measure("sink.offer (reference, not ours)", (i) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      sink.offer(performanceRecord(now, i))))
  yield* measure("performance.modelPerformance", () => performance.modelPerformance(model.id))
  yield* measure("evaluator.evaluate", () =>
    evaluator.evaluate({ requestId: "r", model: model.id, taskType: undefined, request, response }))
  yield* measure("cache.set", () => cache.set("k", response))
})

await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(layer), Effect.withTracerEnabled(false))))
fs.rmSync(dir, { recursive: true, force: true })
