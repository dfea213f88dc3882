/**
 * `availability` in `/v1/metrics` and `/metrics` of a model that served most
 * of its calls: the health records real calls leave (`source: "traffic"`) are
 * one per failure but only the successes that change the model's health (the
 * first, the one after a failure), so they are no sample of its calls. The
 * share of successful health checks counts the probes; without any, the
 * success rate of the calls.
 */
import { assert, describe, it } from "@effect/vitest"
import { type GatewayRecord, HealthCheckRecord, PerformanceRecord } from "@modelgate/domain/Records"
import { Effect, Layer } from "effect"
import * as State from "@modelgate/core/HealthChecker/State"
import * as Metrics from "@modelgate/core/Metrics"
import * as MetricsStore from "@modelgate/core/MetricsStore"
import * as RecordStore from "@modelgate/core/RecordStore"

const Live = Metrics.layer.pipe(
  Layer.provideMerge(MetricsStore.layerMemory),
  Layer.provideMerge(RecordStore.layerMemory)
)

/**
 * The records of calls of model `m` on `p` (true: served, false: a ServerError), each one
 * second apart: its performance record and the health record the checker keeps of it, if any.
 */
const calls = (outcomes: ReadonlyArray<boolean>): Array<GatewayRecord> => {
  let entry = State.initial("m")
  const out: Array<GatewayRecord> = []
  outcomes.forEach((ok, i) => {
    const at = (i + 1) * 1_000
    out.push(PerformanceRecord.make({
      at, requestId: `r${i}`, model: "m", provider: "p", latencyMs: 100, success: ok, outputTokens: ok ? 10 : 0,
      streamed: false, cacheHit: false, ...(ok ? {} : { errorClass: "ServerError" })
    }))
    const t = State.applyCheck(entry, {
      at, ok, latencyMs: 100, errorClass: ok ? undefined : "ServerError", source: "traffic", counts: true
    }, 3, 60_000, "p")
    entry = t.entry
    if (t.record !== undefined) out.push(t.record)
  })
  return out
}

// 20 calls, 4 of them failed, none two in a row: 80% served.
const mostlyServed = Array.from({ length: 20 }, (_, i) => i % 5 !== 1)

const gauge = (text: string) => text.split("\n").filter((l) => l.startsWith("modelgate_model_availability{"))

/** A performance record of model `m` on `p` at `at`: failed with `errorClass`, or served (from the cache with `cacheHit`). */
const call = (at: number, errorClass?: string, cacheHit = false) =>
  PerformanceRecord.make({
    at, requestId: `c${at}`, model: "m", provider: "p", latencyMs: 100, success: errorClass === undefined, outputTokens: 10,
    streamed: true, cacheHit, ...(errorClass === undefined ? {} : { errorClass })
  })

describe("availability of a model real calls only checked", () => {
  it.effect("is its calls' success rate, live, from the store and in /metrics", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      const records = calls(mostlyServed)
      assert.isAbove(records.filter((r) => r._tag === "HealthCheckRecord").length, 0)
      yield* Effect.forEach(records, metrics.observe)
      const live = (yield* metrics.live).models.find((m) => m.model === "m")?.metrics
      assert.strictEqual(live?.errorRate, 0.2)
      assert.strictEqual(live?.availability, 0.8)
      const stored = (yield* metrics.query({ model: "m" })).models.find((m) => m.model === "m")?.metrics
      assert.strictEqual(stored?.availability, 0.8)
      assert.deepStrictEqual(gauge(yield* metrics.prometheus), ['modelgate_model_availability{model="m",provider="p"} 0.8'])
    }).pipe(Effect.provide(Live)))

  it.effect("is the share of successful probes when probes ran, whatever real calls the checker recorded", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      const probes = [1, 2, 3, 4].map((i) =>
        HealthCheckRecord.make({ at: 30_000 + i * 1_000, model: "m", provider: "p", ok: i !== 4, latencyMs: 5, source: "probe" })
      )
      yield* Effect.forEach([...calls(mostlyServed), ...probes], metrics.observe)
      assert.strictEqual((yield* metrics.live).models.find((m) => m.model === "m")?.metrics.availability, 0.75)
      assert.deepStrictEqual(gauge(yield* metrics.prometheus), ['modelgate_model_availability{model="m",provider="p"} 0.75'])
    }).pipe(Effect.provide(Live)))

  it.effect("leaves out failures that are not the model's: clients that left mid-stream, 400s, calls never sent, cache hits", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      const records = [
        call(1_000), call(2_000), call(3_000, "ServerError"), call(4_000), call(5_000, "Interrupted"),
        call(6_000, "Interrupted"), call(7_000, "BadRequest"), call(8_000, "NotSent"), call(9_000, undefined, true)
      ]
      yield* Effect.forEach(records, metrics.observe)
      const live = (yield* metrics.live).models.find((m) => m.model === "m")?.metrics
      assert.strictEqual(live?.errors, 5)
      assert.strictEqual(live?.availability, 0.75)
      assert.strictEqual((yield* metrics.query({ model: "m" })).models[0]?.metrics.availability, 0.75)
      assert.deepStrictEqual(gauge(yield* metrics.prometheus), ['modelgate_model_availability{model="m",provider="p"} 0.75'])
    }).pipe(Effect.provide(Live)))
})
