/**
 * A dry run (`SelectionInput.dryRun`, the ranking of `POST /admin/select`)
 * has no side effects: it announces nothing the ranking finds (a model rate
 * limited, a budget spent), leaves nothing marked that would change what the
 * next real ranking announces, and does not ask a host's `ModelOptimizer` to
 * review. Real limiter (memory store) and cost tracker; health, events and the
 * optimizer are doubles.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { fromUsd } from "@modelgate/domain/Money"
import { CostRecord } from "@modelgate/domain/Records"
import { Context, Effect, Layer, TestClock } from "effect"
import * as CostTrackerModule from "../src/CostTracker.js"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { budgetRefusal } from "../src/Gateway/Refusals.js"
import { BudgetLimit, BudgetsConfig, defaultConfig, GatewayConfigData } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as ModelOptimizer from "../src/ModelOptimizer.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as ModelSelector from "../src/ModelSelector.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import { RateLimiter } from "../src/RateLimiter.js"
import { LimiterStore, makeMemory } from "../src/RateLimiter/LimiterStore.js"
import * as LimiterStoreModule from "../src/RateLimiter/LimiterStore.js"
import * as RecordStore from "../src/RecordStore.js"
import * as AccountingMemory from "../src/RecordWriter/Memory.js"
import { request } from "./ResponseCacheFixtures.js"
import { makeEvents, makeHealth } from "./RoutingFixtures.js"
import { testModel } from "./TestModels.js"

/** One request a minute. */
const mini = testModel("mini", { rateLimits: { rpm: 1, tpm: 100_000 } })
const input: ModelSelector.SelectionInput = {
  requirements: { capabilities: [], priority: "MEDIUM" },
  estimatedPromptTokens: 100,
  maxOutputTokens: 100,
  outputTokensAsked: 100
}
const dryRun: ModelSelector.SelectionInput = { ...input, dryRun: true }

/** A global daily budget of $1, of which $1.5 was spent before the gateway started (found spent, not yet announced). */
const spentBefore = new GatewayConfigData({
  ...defaultConfig,
  budgets: BudgetsConfig.make({ ...defaultConfig.budgets, global: BudgetLimit.make({ daily: 1 }) })
})
const seeded = Layer.effectContext(
  Effect.gen(function* () {
    const ctx = yield* RecordStore.makeMemory()
    const record = CostRecord.make({
      at: 0,
      requestId: "before",
      model: "mini",
      provider: "openai",
      promptTokens: 1,
      completionTokens: 1,
      cachedTokens: 0,
      costPicoUsd: fromUsd(1.5),
      cacheHit: false
    })
    yield* Effect.orDie(Context.get(ctx, RecordStore.RecordStore).writeBatch([record]))
    return ctx
  })
)

/** The limiter's store: in memory, or the same without `applySync` (as a shared store is). */
const storeOf = (remote: boolean) =>
  remote
    ? Layer.effect(LimiterStore, Effect.map(makeMemory, (memory) => LimiterStore.of({ apply: memory.apply, snapshot: memory.snapshot })))
    : LimiterStoreModule.layerMemory

/** The selector over `mini` with the real limiter and cost tracker under `config`, the optimizer's calls counted. */
const setup = (config: GatewayConfigData = defaultConfig, records = RecordStore.layerMemory, remote = false) =>
  Effect.gen(function* () {
    const events = yield* makeEvents
    const health = yield* makeHealth()
    const reviews: Array<boolean> = []
    let selected = 0
    let vetoing = false
    const optimizer = ModelOptimizer.layer({
      // Notes whether each ranking was a dry run's; while vetoing, vetoes every model.
      review: (input, ranking) => Effect.sync(() => (reviews.push(input.dryRun === true), vetoing ? { ...ranking, ranked: [] } : ranking)),
      onSelected: () => Effect.sync(() => void ++selected)
    })
    const context = yield* Layer.build(
      Layer.mergeAll(
        RateLimiterModule.layer.pipe(Layer.provide(storeOf(remote))),
        CostTrackerModule.layer,
        ModelRegistry.layerMemory([mini]),
        Layer.succeed(HealthChecker, health.service),
        optimizer
      ).pipe(
        Layer.provideMerge(AccountingMemory.layerOver(records)),
        Layer.provideMerge(Layer.mergeAll(GatewayConfig.layerStatic(config), Layer.succeed(Events, events.service)))
      )
    )
    const selector = yield* Effect.provide(ModelSelector.make, context)
    const limiter = Context.get(context, RateLimiter)
    const registry = Context.get(context, ModelRegistry.ModelRegistry)
    const costs = Context.get(context, CostTrackerModule.CostTracker)
    /** The events of `tags` published so far, by tag. */
    const published = (...tags: ReadonlyArray<GatewayEvent["_tag"]>) =>
      Effect.map(events.all, (all) => all.filter((e) => tags.includes(e._tag)).map((e) => e._tag))
    return { selector, limiter, registry, costs, published, reviews: () => reviews, veto: () => void (vetoing = true), selected: () => selected }
  })

describe("ModelSelector: a dry run has no side effects", () => {
  for (const remote of [false, true]) {
    const store = remote ? " (a store without applySync)" : ""

    it.scoped(`a dry run of a model with its window full announces nothing; the next real ranking announces it RateLimited, once${store}`, () =>
      Effect.gen(function* () {
        const { limiter, published, selector } = yield* setup(defaultConfig, RecordStore.layerMemory, remote)
        yield* limiter.reserve(mini, 200)
        for (let i = 0; i < 3; i++) {
          const dry = yield* selector.rank(dryRun)
          assert.deepStrictEqual(dry.excluded.map((e) => [e.model, e.kind]), [["mini", "rate_limited"]])
        }
        assert.deepStrictEqual(yield* published("RateLimited"), [], "the dry runs announced the rate limit")
        yield* selector.rank(input)
        yield* selector.rank(input)
        assert.deepStrictEqual(yield* published("RateLimited"), ["RateLimited"])
      }))

    it.scoped(`a dry run once the window has room again announces no WindowReset; the next real ranking does${store}`, () =>
      Effect.gen(function* () {
        const { limiter, published, selector } = yield* setup(defaultConfig, RecordStore.layerMemory, remote)
        yield* limiter.reserve(mini, 200)
        yield* selector.rank(input)
        assert.deepStrictEqual(yield* published("RateLimited", "WindowReset"), ["RateLimited"])
        yield* TestClock.adjust(61_000)
        assert.deepStrictEqual((yield* selector.rank(dryRun)).ranked.map((s) => s.model.id), ["mini"])
        assert.deepStrictEqual(yield* published("RateLimited", "WindowReset"), ["RateLimited"], "the dry run announced the reset")
        yield* selector.rank(input)
        assert.deepStrictEqual(yield* published("RateLimited", "WindowReset"), ["RateLimited", "WindowReset"])
      }))
  }

  it.scoped("a dry run while a budget is spent announces nothing; the next real ranking announces BudgetExceeded, once", () =>
    Effect.gen(function* () {
      const { published, selector } = yield* setup(spentBefore, seeded)
      for (let i = 0; i < 3; i++) {
        const dry = yield* selector.rank(dryRun)
        assert.deepStrictEqual(dry.excluded.map((e) => [e.model, e.kind]), [["mini", "budget"]])
      }
      assert.deepStrictEqual(yield* published("BudgetExceeded"), [], "the dry runs announced the budget spent")
      yield* selector.rank(input)
      yield* selector.rank(input)
      assert.deepStrictEqual(yield* published("BudgetExceeded"), ["BudgetExceeded"])
    }))

  it.scoped("the dry run's budget refusal (the 429 it answers) announces nothing; the request's own refusal does", () =>
    Effect.gen(function* () {
      const { costs, published, registry, selector } = yield* setup(spentBefore, seeded)
      const ask = request("hello", { model: "auto", max_tokens: 100 })
      const refuse = (dryRun: boolean) =>
        Effect.flatMap(selector.rank(dryRun ? { ...input, dryRun } : input), (ranking) =>
          Effect.flip(budgetRefusal(registry, costs, ranking, input.requirements, input.estimatedPromptTokens, ask, dryRun)))
      assert.strictEqual((yield* refuse(true)).budget, "global")
      assert.deepStrictEqual(yield* published("BudgetExceeded"), [])
      assert.strictEqual((yield* refuse(false)).budget, "global")
      assert.deepStrictEqual(yield* published("BudgetExceeded"), ["BudgetExceeded"])
    }))

  it.scoped("a dry run shows the host optimizer's review (its veto), and the optimizer is told it is a dry run", () =>
    Effect.gen(function* () {
      const { reviews, selector, veto } = yield* setup()
      veto()
      const ranking = yield* selector.rank(dryRun)
      assert.deepStrictEqual(ranking.ranked, [])
      assert.deepStrictEqual(ranking.excluded.map((e) => [e.model, e.reason]), [["mini", "vetoed by the host's ModelOptimizer"]])
      yield* selector.rank(input)
      assert.deepStrictEqual(reviews(), [true, false])
    }))

  it.scoped("a dry run's select publishes no ModelSelected and tells the optimizer nothing; a real one does both", () =>
    Effect.gen(function* () {
      const { published, selected, selector } = yield* setup()
      assert.strictEqual((yield* selector.select(dryRun)).model.id, "mini")
      assert.deepStrictEqual(yield* published("ModelSelected"), [])
      assert.strictEqual(selected(), 0)
      yield* selector.select(input)
      assert.deepStrictEqual(yield* published("ModelSelected"), ["ModelSelected"])
      assert.strictEqual(selected(), 1)
    }))
})
