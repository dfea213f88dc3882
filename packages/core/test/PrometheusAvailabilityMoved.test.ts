/**
 * `modelgate_model_availability` of a model moved to another provider: the
 * gauge says how available the model is where it is served now, so it is
 * exposed under its current provider only. Counters keep their old series
 * (`PrometheusProviderMove.test.ts`), but a gauge left under the old label
 * kept reporting the model there forever (an alert on it fired for a
 * provider the model no longer uses). A call sent to the old provider before
 * the move that ends after it does not bring the old label back.
 */
import { assert, describe, it } from "@effect/vitest"
import { HealthCheckRecord, PerformanceRecord } from "@modelgate/domain/Records"
import { Effect, Layer } from "effect"
import * as Metrics from "../src/Metrics.js"
import * as MetricsStore from "../src/MetricsStore.js"
import * as RecordStore from "../src/RecordStore.js"

const Live = Metrics.layer.pipe(Layer.provide(MetricsStore.layerMemory), Layer.provide(RecordStore.layerMemory))

/** A probe of model `x` on `provider` that ended at `at`. */
const probe = (provider: string, at: number, ok: boolean) =>
  HealthCheckRecord.make({ at, model: "x", provider, ok, latencyMs: 2, source: "probe" })

/** A call of model `x` on `provider` that ended at `at` after `ms`. */
const call = (provider: string, at: number, ms: number, success: boolean) =>
  PerformanceRecord.make({
    at, requestId: `r${at}`, model: "x", provider, latencyMs: ms, success, outputTokens: 1, streamed: false, cacheHit: false,
    ...(success ? {} : { errorClass: "ServerError" })
  })

const gauge = (text: string) => text.split("\n").filter((l) => l.startsWith("modelgate_model_availability{"))

describe("/metrics availability of a model moved to another provider", () => {
  it.effect("the gauge follows the model to its new provider; a late call of the old one does not bring the old label back", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      yield* Effect.forEach([probe("openai", 1_000, true), probe("openai", 61_000, false)], metrics.observe)
      assert.deepStrictEqual(gauge(yield* metrics.prometheus), ['modelgate_model_availability{model="x",provider="openai"} 0.5'])
      // Moved to ollama at 100 s: probed there at once; a call sent to openai at 95 s fails at 130 s.
      yield* Effect.forEach([probe("ollama", 100_002, true), call("openai", 130_000, 35_000, false)], metrics.observe)
      assert.deepStrictEqual(gauge(yield* metrics.prometheus), ['modelgate_model_availability{model="x",provider="ollama"} 1'])
      // The old provider's counters stay.
      assert.include(yield* metrics.prometheus, 'modelgate_requests_total{model="x",provider="openai",outcome="error"} 1')
    }).pipe(Effect.provide(Live)))
})
