/**
 * A model the local rate limiter refuses before any call (no performance
 * record) still moves requests away: its failover is counted in `/metrics`
 * under the model's provider, the label set it has once it serves requests.
 * Before, the failover record named no provider: the series read
 * `modelgate_failovers_total{model="a",provider=""}` and moved to a new series
 * (`provider="openai"`) at the model's first call, which a rate() across the
 * two reads as a new counter. (Stored rows keep it too: migration 0007, see
 * the SQL metrics property test.)
 */
import { assert, describe, it } from "@effect/vitest"
import { RateLimitExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Effect, Layer } from "effect"
import type { AttemptError } from "../src/Failover.js"
import * as Metrics from "../src/Metrics.js"
import * as MetricsStore from "../src/MetricsStore.js"
import * as RecordStore from "../src/RecordStore.js"
import { model, setupFailover } from "./RoutingFixtures.js"

const Live = Metrics.layer.pipe(Layer.provideMerge(MetricsStore.layerMemory), Layer.provideMerge(RecordStore.layerMemory))

const failoverLines = (text: string) => text.split("\n").filter((l) => l.startsWith("modelgate_failovers_total{"))

describe("failover metrics of a model refused before any call", () => {
  it.effect("are labelled with the model's provider, before and after its first call", () =>
    Effect.gen(function* () {
      const { failover, sink } = yield* setupFailover({ failover: { backoffBaseMs: 0, backoffCapMs: 0 } })
      const a = model("a", { provider: "anthropic" })
      const attempt = (m: ModelMetadata): Effect.Effect<string, AttemptError> =>
        m.id === "a" ? Effect.fail(new RateLimitExceeded({ model: "a", dimension: "requests", retryAfterMs: 1_000 })) : Effect.succeed("ok")
      yield* failover.run([a, model("b")], attempt)
      const metrics = yield* Metrics.Metrics
      yield* Effect.forEach(yield* sink.all, metrics.observe)
      assert.deepStrictEqual(failoverLines(yield* metrics.prometheus), ['modelgate_failovers_total{model="a",provider="anthropic"} 1'])
      // its first call: the same series goes on
      yield* metrics.observe(PerformanceRecord.make({
        at: 1, requestId: "r1", model: "a", provider: "anthropic", latencyMs: 100, success: true, outputTokens: 1, streamed: false, cacheHit: false
      }))
      assert.deepStrictEqual(failoverLines(yield* metrics.prometheus), ['modelgate_failovers_total{model="a",provider="anthropic"} 1'])
      assert.strictEqual((yield* metrics.live).models.find((m) => m.model === "a")?.provider, "anthropic")
    }).pipe(Effect.provide(Live)))
})
