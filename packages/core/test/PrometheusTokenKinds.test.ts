/**
 * `/metrics` breaks its tokens down as `/v1/metrics` does: prompt-cache reads
 * (`cached`) and writes (`cache_write`) of the prompt, reasoning of the
 * completion, each a `kind` of `modelgate_tokens_total` with the same sums.
 */
import { assert, describe, it } from "@effect/vitest"
import type { PicoUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
import { Effect, Layer } from "effect"
import * as Metrics from "../src/Metrics.js"
import * as MetricsStore from "../src/MetricsStore.js"
import * as RecordStore from "../src/RecordStore.js"

const Live = Metrics.layer.pipe(Layer.provideMerge(MetricsStore.layerMemory), Layer.provideMerge(RecordStore.layerMemory))

const cost = (at: number, cacheWriteTokens: number, reasoningTokens: number) =>
  CostRecord.make({
    at,
    requestId: `r${at}`,
    model: "claude",
    provider: "anthropic",
    promptTokens: 2_000,
    completionTokens: 500,
    cachedTokens: 300,
    cacheWriteTokens,
    reasoningTokens,
    costPicoUsd: 1_000_000 as PicoUsd,
    cacheHit: false
  })

describe("Prometheus token kinds", () => {
  it.effect("modelgate_tokens_total has cache_write and reasoning kinds, summed as /v1/metrics sums them", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics.Metrics
      yield* Effect.forEach([cost(1, 1_200, 0), cost(2, 0, 350), cost(3, 100, 50)], metrics.observe)
      const lines = (yield* metrics.prometheus).split("\n")
      const model = (yield* metrics.live).models.find((m) => m.model === "claude")!
      assert.strictEqual(model.metrics.cacheWriteTokens, 1_300)
      assert.strictEqual(model.metrics.reasoningTokens, 400)
      const labels = 'model="claude",provider="anthropic"'
      assert.include(lines, `modelgate_tokens_total{${labels},kind="cached"} 900`)
      assert.include(lines, `modelgate_tokens_total{${labels},kind="cache_write"} 1300`)
      assert.include(lines, `modelgate_tokens_total{${labels},kind="reasoning"} 400`)
    }).pipe(Effect.provide(Live)))
})
