/**
 * Two gateway instances on one PostgreSQL database (DESIGN.md: several
 * instances share their stores on PostgreSQL): what one records, the other
 * reads: costs, budgets, metrics, cached answers, and the models added
 * through the admin API (budgets, cache and models within
 * `database.syncIntervalMs`, without a reload).
 */
import { assert, layer } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { Metrics } from "@modelgate/core/Metrics"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect } from "effect"
import { ask, models, poll } from "./fixture.js"
import { postgresPair } from "./postgresPair.js"

layer(TestPostgres.layer, { timeout: 60_000, excludeTestServices: true })("two gateways on one PostgreSQL database", (it) => {
  it.scoped("one instance's costs, budgets, metrics, cached answers and added models are the other's", () =>
    Effect.gen(function* () {
      const { a, another, fakes } = yield* postgresPair({
        prefix: "modelgate-shared-pg-",
        models: models(),
        gateway: { database: { syncIntervalMs: 50 }, budgets: { global: { monthly: 100 } }, cache: { enabled: true } }
      })
      const b = yield* another

      const question = ask("hello from a", "gpt-4o-mini", { temperature: 0 })
      const answer = yield* Effect.flatMap(Gateway, (g) => g.complete(question, { ...defaultRequirements, agentType: "team-a" })).pipe(
        Effect.provide(a)
      )
      assert.isFalse(answer.meta.cacheHit)
      yield* Effect.flatMap(RecordWriter, (w) => w.flush).pipe(Effect.provide(a))

      const costs = yield* Effect.flatMap(CostTracker, (c) => c.costs({ groupBy: "agentType" })).pipe(Effect.provide(b))
      assert.deepStrictEqual(
        costs.map((g) => [g.key, g.requests, g.costPicoUsd]),
        [["team-a", 1, BigInt(Math.round((answer.meta.costUsd ?? 0) * 1e12))]]
      )
      // Budgets: b counts a's spend within `database.syncIntervalMs` (on by default on PostgreSQL), once.
      const spent = Effect.flatMap(CostTracker, (c) => c.budgetStatus).pipe(
        Effect.map((all) => all.find((s) => s.period === "monthly")?.spentPicoUsd),
        Effect.provide(b)
      )
      const aSpent = BigInt(Math.round((answer.meta.costUsd ?? 0) * 1e12))
      yield* poll(spent, (s) => s === aSpent, 5_000, "b's monthly budget to count a's spend")
      yield* Effect.sleep("200 millis")
      assert.strictEqual(yield* spent, aSpent, "counted once across syncs")

      const snapshot = yield* Effect.flatMap(Metrics, (m) => m.query({})).pipe(Effect.provide(b))
      assert.strictEqual(snapshot.source, "store")
      assert.strictEqual(snapshot.models.find((m) => m.model === answer.meta.model)?.metrics.requests, 1)

      const added = { ...models().models[0], id: "gpt-4o-mini-shared", displayName: "added on a" }
      yield* Effect.flatMap(ModelRegistry, (r) => r.add(added)).pipe(Effect.provide(a))
      // The response cache: a's answer is a hit on b (for the same agent type) within `database.syncIntervalMs`, with no provider call.
      const calls = (yield* fakes.openai.requests).length
      yield* poll(
        Effect.flatMap(Gateway, (g) => g.complete(question, { ...defaultRequirements, agentType: "team-a" })).pipe(Effect.map((r) => r.meta.cacheHit), Effect.provide(b)),
        (hit) => hit,
        5_000,
        "a's answer as a cache hit on b"
      )
      assert.strictEqual((yield* fakes.openai.requests).length, calls)

      // No reload: b applies what a stored within `database.syncIntervalMs`.
      yield* poll(
        Effect.flatMap(ModelRegistry, (r) => r.all).pipe(Effect.provide(b)),
        (listed) => listed.some((m) => m.id === "gpt-4o-mini-shared"),
        5_000,
        "the model added on a, on b"
      )
    }))
})
