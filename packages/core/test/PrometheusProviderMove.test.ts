/**
 * `/metrics` of a model moved to another provider (`PATCH /admin/models`):
 * each Prometheus series counts what was done on its label set only, as
 * Prometheus reads a counter. What the model did on its old provider stays in
 * the old series (unchanged, never down), and the new provider's series
 * starts from what the model does there. Before, the model's totals moved to
 * the new provider's label: the new series began with the old provider's
 * spend and requests (a `sum by (provider)` gave the old provider's money to
 * the new one), the old series vanished, and a request on the old provider
 * finishing after the move brought the old series back with the new
 * provider's counts added, which rate() read as traffic on the old provider.
 */
import { assert, describe, it } from "@effect/vitest"
import { CostRecord, PerformanceRecord } from "@modelgate/domain/Records"
import { Effect, Layer } from "effect"
import * as Metrics from "../src/Metrics.js"
import * as MetricsStore from "../src/MetricsStore.js"
import * as RecordStore from "../src/RecordStore.js"

const Live = Metrics.layer.pipe(Layer.provide(MetricsStore.layerMemory), Layer.provide(RecordStore.layerMemory))

/** One answered call of model `x` on `provider`, costing `pico` picodollars, taking `ms`. */
const call = (provider: string, at: number, pico: number, ms: number) => [
  PerformanceRecord.make({
    at, requestId: `r${at}`, model: "x", provider, latencyMs: ms, success: true, outputTokens: 1, streamed: false, cacheHit: false
  }),
  CostRecord.make({
    at, requestId: `r${at}`, model: "x", provider, promptTokens: 10, completionTokens: 1, cachedTokens: 0, costPicoUsd: pico, cacheHit: false
  })
]

/** The samples of `/metrics` for these families, in order. */
const samples = (text: string, families: ReadonlyArray<string>) =>
  text.split("\n").filter((l) => families.some((f) => l.startsWith(`${f}{`)))

const families = ["modelgate_requests_total", "modelgate_cost_usd_total", "modelgate_request_duration_seconds_count"]

describe("/metrics of a model moved to another provider", () => {
  it.effect("each provider's series counts what the model did on that provider, the old one never lowered nor moved", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      yield* Effect.forEach([...call("openai", 1, 2_000_000_000_000, 100), ...call("openai", 2, 2_000_000_000_000, 100)], metrics.observe)
      // PATCH /admin/models moves `x` to another provider; one call there, then a late one on the old provider.
      yield* Effect.forEach([...call("ollama", 3, 1_000_000_000_000, 100), ...call("openai", 4, 2_000_000_000_000, 100)], metrics.observe)
      assert.deepStrictEqual(samples(yield* metrics.prometheus, families), [
        'modelgate_requests_total{model="x",provider="ollama",outcome="success"} 1',
        'modelgate_requests_total{model="x",provider="ollama",outcome="error"} 0',
        'modelgate_requests_total{model="x",provider="openai",outcome="success"} 3',
        'modelgate_requests_total{model="x",provider="openai",outcome="error"} 0',
        'modelgate_cost_usd_total{model="x",provider="ollama"} 1',
        'modelgate_cost_usd_total{model="x",provider="openai"} 6',
        'modelgate_request_duration_seconds_count{model="x",provider="ollama"} 1',
        'modelgate_request_duration_seconds_count{model="x",provider="openai"} 3'
      ])
      // The JSON view is per model: the model's totals, on both providers, under the provider it ran on last.
      const live = (yield* metrics.live).models.filter((m) => m.model === "x")
      assert.strictEqual(live.length, 1)
      assert.strictEqual(live[0]!.provider, "openai")
      assert.strictEqual(live[0]!.metrics.requests, 4)
      assert.strictEqual(live[0]!.metrics.costUsd, 7)
    }).pipe(Effect.provide(Live)))
})
