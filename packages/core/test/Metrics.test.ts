import { assert, describe, it } from "@effect/vitest"
import type { PicoUsd } from "@modelgate/domain/Money"
import { CostRecord, FailoverRecord, HealthCheckRecord, PerformanceRecord } from "@modelgate/domain/Records"
import { Effect, Layer, Schema } from "effect"
import * as fc from "fast-check"
import * as Metrics from "@modelgate/core/Metrics"
import { aggregateRecords, percentile } from "@modelgate/core/Metrics/Aggregate"
import { escapeLabel } from "@modelgate/core/Metrics/Prometheus"
import * as MetricsStore from "@modelgate/core/MetricsStore"
import * as RecordStore from "@modelgate/core/RecordStore"

const perf = (p: Partial<typeof PerformanceRecord.Type> & { at: number }) =>
  PerformanceRecord.make({
    requestId: `r${p.at}`,
    model: "m1",
    provider: "p1",
    latencyMs: 1_000,
    success: true,
    outputTokens: 100,
    streamed: false,
    cacheHit: false,
    ...p
  })
const cost = (c: Partial<typeof CostRecord.Type> & { at: number }) =>
  CostRecord.make({
    requestId: `r${c.at}`,
    model: "m1",
    provider: "p1",
    promptTokens: 400,
    completionTokens: 100,
    cachedTokens: 0,
    costPicoUsd: 1_000_000_000 as PicoUsd,
    cacheHit: false,
    ...c
  })

const Live = Metrics.layer.pipe(
  Layer.provideMerge(MetricsStore.layerMemory),
  Layer.provideMerge(RecordStore.layerMemory)
)

const traffic = [
  perf({ at: 1, latencyMs: 1_000, agentType: "chat" }),
  cost({ at: 1, agentType: "chat" }),
  perf({ at: 2, latencyMs: 3_000, agentType: "chat" }),
  cost({ at: 2, agentType: "chat" }),
  perf({ at: 3, latencyMs: 5, cacheHit: true, outputTokens: 100 }),
  cost({ at: 3, cacheHit: true, costPicoUsd: 0 as PicoUsd }),
  perf({ at: 4, latencyMs: 200, success: false, errorClass: "RateLimited", outputTokens: 0 }),
  perf({ at: 5, model: "m2", provider: "p2", latencyMs: 50, success: false, errorClass: "ServerError", outputTokens: 0 }),
  FailoverRecord.make({ at: 4, from: "m1", to: "m2", reason: "RateLimited", attempt: 1, elapsedMs: 200 }),
  HealthCheckRecord.make({ at: 6, model: "m1", ok: true, latencyMs: 10, source: "probe" }),
  HealthCheckRecord.make({ at: 7, model: "m1", ok: false, latencyMs: 10, source: "probe" })
]

describe("Metrics", () => {
  it.effect("live counters show requests, errors by class, cache hits, cost, failovers, availability and derived metrics", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      yield* Effect.forEach(traffic, metrics.observe)
      const snapshot = yield* metrics.live
      const m1 = snapshot.models.find((m) => m.model === "m1")?.metrics
      assert.isDefined(m1)
      if (m1 === undefined) return
      assert.strictEqual(m1.requests, 4)
      assert.strictEqual(m1.errors, 1)
      assert.deepStrictEqual(m1.errorsByClass, { RateLimited: 1 })
      assert.strictEqual(m1.answered, 3)
      assert.strictEqual(m1.cacheHits, 1)
      assert.closeTo(m1.cacheHitRate ?? 0, 1 / 3, 1e-12)
      assert.strictEqual(m1.costPicoUsd, 2_000_000_000n)
      assert.strictEqual(m1.costUsd, 0.002)
      assert.strictEqual(m1.failovers, 1)
      assert.strictEqual(m1.availability, 0.5)
      assert.strictEqual(m1.errorRate, 0.25)
      assert.closeTo(m1.costPer1kTokensUsd ?? 0, (0.002 * 1000) / 1500, 1e-15)
      assert.closeTo(m1.costPerSuccessUsd ?? 0, 0.002 / 3, 1e-15)
      // tokens/s over provider answers only: 200 tokens in 4 s
      assert.strictEqual(m1.tokensPerSecond, 50)
      assert.strictEqual(m1.latencyMs.max, 3_000)
      assert.strictEqual(snapshot.totals.requests, 5)
      assert.deepStrictEqual(snapshot.totals.errorsByClass, { RateLimited: 1, ServerError: 1 })
      // m2 has no health checks: availability is its success rate
      assert.strictEqual(snapshot.models.find((m) => m.model === "m2")?.metrics.availability, 0)
    }).pipe(Effect.provide(Live)))

  it.effect("queries filter by time range, model, provider and agent type", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      yield* Effect.forEach(traffic, metrics.observe)
      assert.strictEqual((yield* metrics.query({ from: 2, to: 4 })).totals.requests, 2)
      assert.strictEqual((yield* metrics.query({ model: "m2" })).totals.requests, 1)
      assert.strictEqual((yield* metrics.query({ provider: "p2" })).totals.errors, 1)
      const chat = yield* metrics.query({ agentType: "chat" })
      assert.strictEqual(chat.totals.requests, 2)
      assert.strictEqual(chat.totals.costPicoUsd, 2_000_000_000n)
      assert.deepStrictEqual(chat.models.map((m) => m.model), ["m1"])
    }).pipe(Effect.provide(Live)))

  it.effect("an agent type's query counts its own failovers only; a model it only failed over from (refused before any call) is in it", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      const failover = (at: number, from: string, agentType?: string) =>
        FailoverRecord.make({ at, from, provider: "p1", ...(agentType === undefined ? {} : { agentType }), to: "m2", reason: "Timeout", attempt: 1, elapsedMs: 1 })
      // `other` failed over from m1 twice; a record from before agent types were kept names none; `chat` left m1 once and m3 once.
      yield* Effect.forEach(
        [...traffic, failover(10, "m1", "other"), failover(11, "m1", "other"), failover(12, "m1"), failover(13, "m1", "chat"), failover(14, "m3", "chat")],
        metrics.observe
      )
      const chat = yield* metrics.query({ agentType: "chat" })
      assert.deepStrictEqual(chat.models.map((m) => [m.model, m.metrics.failovers]), [["m1", 1], ["m3", 1]])
      assert.strictEqual(chat.totals.failovers, 2)
      assert.strictEqual((yield* metrics.query({ agentType: "chat", provider: "p2" })).totals.failovers, 0)
      assert.strictEqual((yield* metrics.query({})).totals.failovers, 6)
    }).pipe(Effect.provide(Live)))

  it.effect("the snapshot is a Schema: it encodes to JSON and decodes back", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      yield* Effect.forEach(traffic, metrics.observe)
      const snapshot = yield* metrics.live
      const json = JSON.stringify(yield* Schema.encode(Metrics.MetricsSnapshot)(snapshot))
      assert.include(json, '"costPicoUsd":"2000000000"')
      const back = yield* Schema.decodeUnknown(Metrics.MetricsSnapshot)(JSON.parse(json))
      assert.deepStrictEqual(back, snapshot)
    }).pipe(Effect.provide(Live)))

  it("latency percentiles are within 5% of the exact nearest-rank value", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 300 }), (latencies) => {
        const aggregate = aggregateRecords(latencies.map((latencyMs, i) => perf({ at: i, latencyMs })), {})
        const m = aggregate.get("m1")
        if (m === undefined) return false
        const sorted = [...latencies].sort((x, y) => x - y)
        return [0.5, 0.95, 0.99].every((p) => {
          const exact = sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1] ?? 0
          const estimate = percentile(m, p) ?? -1
          return estimate >= exact * (1 - 1e-9) && estimate <= exact * 1.05 + 1e-9
        })
      }),
      { numRuns: 200 }
    )
  })

  it.effect("Prometheus text has HELP/TYPE, cumulative histogram buckets with _sum/_count, escaped labels", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      const odd = 'we"ird\\model\nx'
      yield* Effect.forEach(
        [...traffic, perf({ at: 9, model: odd, latencyMs: 70_000 }), cost({ at: 9, model: odd })],
        metrics.observe
      )
      const text = yield* metrics.prometheus
      const lines = text.trimEnd().split("\n")
      for (const family of ["modelgate_requests_total", "modelgate_cost_usd_total", "modelgate_tokens_total", "modelgate_failovers_total"]) {
        assert.include(lines, `# TYPE ${family} counter`)
        assert.isTrue(lines.some((l) => l.startsWith(`# HELP ${family} `)))
      }
      assert.include(lines, "# TYPE modelgate_request_duration_seconds histogram")
      assert.include(lines, "# TYPE modelgate_model_availability gauge")
      assert.include(lines, 'modelgate_requests_total{model="m1",provider="p1",outcome="success"} 3')
      assert.include(lines, 'modelgate_errors_total{model="m1",provider="p1",class="RateLimited"} 1')
      assert.include(lines, 'modelgate_failovers_total{model="m1",provider="p1"} 1')
      assert.include(lines, 'modelgate_request_duration_seconds_bucket{model="m1",provider="p1",le="0.05"} 1')
      assert.include(lines, 'modelgate_request_duration_seconds_bucket{model="m1",provider="p1",le="1"} 3')
      assert.include(lines, 'modelgate_request_duration_seconds_bucket{model="m1",provider="p1",le="5"} 4')
      assert.include(lines, 'modelgate_request_duration_seconds_bucket{model="m1",provider="p1",le="+Inf"} 4')
      assert.include(lines, 'modelgate_request_duration_seconds_sum{model="m1",provider="p1"} 4.205')
      assert.include(lines, 'modelgate_request_duration_seconds_count{model="m1",provider="p1"} 4')
      const escaped = escapeLabel(odd)
      assert.strictEqual(escaped, 'we\\"ird\\\\model\\nx')
      assert.include(lines, `modelgate_requests_total{model="${escaped}",provider="p1",outcome="success"} 1`)
      // every sample line is `name{labels} value` with no raw newline inside labels
      for (const line of lines.filter((l) => !l.startsWith("#"))) {
        assert.match(line, /^[a-z_]+(\{.*\})? [-+0-9.eInfNa]+$/)
      }
      // cumulative buckets never decrease
      const m1Buckets = lines
        .filter((l) => l.startsWith('modelgate_request_duration_seconds_bucket{model="m1"'))
        .map((l) => Number(l.split(" ")[1]))
      assert.deepStrictEqual(m1Buckets, [...m1Buckets].sort((x, y) => x - y))
    }).pipe(Effect.provide(Live)))
})
