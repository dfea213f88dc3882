import { assert, describe, it } from "@effect/vitest"
import { ModelMetadata, Pricing } from "@modelgate/domain/Model"
import { CostRecord } from "@modelgate/domain/Records"
import { Effect, Layer, Schema, TestClock } from "effect"
import * as fc from "fast-check"
import * as CostStore from "@modelgate/core/CostStore"
import * as CostTracker from "@modelgate/core/CostTracker"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as RecordStore from "@modelgate/core/RecordStore"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"
import { actualCosts, arbCostQuery, arbCostRecord, DAY, expectedCosts } from "@modelgate/testkit/CostFixtures"

const model = (pricing: { inputPerMillion: number; outputPerMillion: number; cachedInputPerMillion?: number }) =>
  Schema.decodeUnknownSync(ModelMetadata)({
    id: "m1",
    provider: "openai",
    providerModel: "m1",
    displayName: "M1",
    capabilities: ["chat"],
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    pricing,
    rateLimits: { rpm: 100, tpm: 100_000 },
    qualityTier: "standard",
    qualityScore: 0.5
  })

describe("CostTracker.cost", () => {
  it("charges uncached prompt, cached and completion tokens at their prices, in pico-dollars", () => {
    const m = model({ inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 })
    // 1000 uncached x 2.5e6 + 500 cached x 1.25e6 + 200 x 1e7 pico
    assert.strictEqual(
      CostTracker.computeCost(m.pricing, { promptTokens: 1_500, cachedTokens: 500, completionTokens: 200 }),
      2_500_000_000 + 625_000_000 + 2_000_000_000
    )
    const noCachedPrice = model({ inputPerMillion: 0.15, outputPerMillion: 0.6 })
    assert.strictEqual(
      CostTracker.computeCost(noCachedPrice.pricing, { promptTokens: 1_000, cachedTokens: 400, completionTokens: 0 }),
      1_000 * 150_000
    )
  })

  it("is exact for any token counts and any prices with up to six decimals", () => {
    const micro = fc.integer({ min: 0, max: 1_000_000_000 }) // up to $1000 per 1M tokens, in micro-dollars
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        micro,
        micro,
        fc.option(micro, { nil: undefined }),
        (prompt, cachedRaw, completion, inMicro, outMicro, cachedMicro) => {
          const cached = Math.min(cachedRaw, prompt)
          const pricing = Pricing.make({
            inputPerMillion: inMicro / 1e6,
            outputPerMillion: outMicro / 1e6,
            ...(cachedMicro === undefined ? {} : { cachedInputPerMillion: cachedMicro / 1e6 })
          })
          const expected =
            BigInt(prompt - cached) * BigInt(inMicro) +
            BigInt(cached) * BigInt(cachedMicro ?? inMicro) +
            BigInt(completion) * BigInt(outMicro)
          const actual = CostTracker.computeCost(pricing, { promptTokens: prompt, cachedTokens: cached, completionTokens: completion })
          return Number.isSafeInteger(actual) && BigInt(actual) === expected
        }
      ),
      { numRuns: 500 }
    )
  })
})

describe("CostStore (memory)", () => {
  it.effect("aggregation sums equal the sum of the records for any filter and grouping", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(arbCostRecord(90), { maxLength: 60 }), arbCostQuery(90), async (records, query) => {
            const groups = await Effect.runPromise(
              Effect.gen(function* () {
                const store = yield* RecordStore.RecordStore
                yield* store.writeBatch(records)
                return yield* (yield* CostStore.CostStore).costs(query)
              }).pipe(Effect.provide(AccountingCosts))
            )
            assert.deepStrictEqual(actualCosts(groups), expectedCosts(records, query))
          }),
          { numRuns: 150 }
        )
      )
    }))
})

const AccountingCosts = Layer.provideMerge(CostStore.layerMemory, RecordStore.layerMemory)

/** Flush hourly so that TestClock jumps of days stay cheap; tests flush explicitly. */
const slowFlush = new GatewayConfigData({ ...defaultConfig, records: RecordsConfig.make({ ...defaultConfig.records, flushIntervalMs: 3_600_000 }) })

const Tracker = CostTracker.layer.pipe(
  Layer.provideMerge(AccountingMemory.layerMemory),
  Layer.provide(Events.layer),
  Layer.provide(GatewayConfig.layerStatic(slowFlush))
)

describe("CostTracker aggregations", () => {
  it.scoped("records go through the writer and show in dailyCost and costByModel", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker.CostTracker
      const rec = (at: number, model: string, cost: number) =>
        CostRecord.make({ at, requestId: `${at}`, model, provider: "p", promptTokens: 1, completionTokens: 1, cachedTokens: 0, costPicoUsd: cost, cacheHit: false })
      yield* TestClock.adjust(DAY + 1)
      yield* costs.record(rec(10, "a", 5))
      yield* costs.record(rec(DAY + 1, "a", 7))
      yield* costs.record(rec(DAY + 1, "b", 11))
      yield* (yield* RecordWriter).flush
      const daily = yield* costs.dailyCost()
      assert.deepStrictEqual(daily.map((g) => [g.key, g.costPicoUsd]), [["1970-01-01", 5n], ["1970-01-02", 18n]])
      const byModel = yield* costs.costByModel({ from: DAY })
      assert.deepStrictEqual(byModel.map((g) => [g.key, g.costPicoUsd, g.requests]), [["a", 7n, 1], ["b", 11n, 1]])
    }).pipe(Effect.provide(Tracker)))
})
