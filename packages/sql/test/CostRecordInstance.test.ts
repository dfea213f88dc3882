/**
 * Cost records name the gateway instance that stored them, on both write
 * paths (this thread's rows, the worker thread's columns), and
 * `CostStoreSql.spendByWriter` splits the spend into this instance's and
 * everyone else's (rows from before migration 0008, without an instance,
 * included), since each instant asked, on SQLite and PostgreSQL.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it, layer } from "@effect/vitest"
import { CostStore } from "@modelgate/core/CostStore"
import { InstanceId } from "@modelgate/core/InstanceId"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord } from "@modelgate/domain/Records"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer } from "effect"
import { databases } from "./databases.js"
import { tempFile } from "./recordFixtures.js"

let seq = 0
const spend = (costPicoUsd: number, at: number, model = "m", agentType?: string) =>
  CostRecord.make({
    at,
    requestId: `r${++seq}`,
    model,
    provider: "openai",
    ...(agentType === undefined ? {} : { agentType }),
    promptTokens: 1,
    completionTokens: 1,
    cachedTokens: 0,
    costPicoUsd,
    cacheHit: false
  })

/** Write `records` through `store` as instance `id`. */
const writeAs = (id: string, store: Layer.Layer<RecordStore, never, SqlClient.SqlClient>, records: ReadonlyArray<CostRecord>) =>
  Effect.flatMap(RecordStore, (s) => s.writeBatch(records)).pipe(
    Effect.provide(store.pipe(Layer.provide(Layer.succeed(InstanceId, id)))),
    Effect.scoped
  )

const instances = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<{ instance: string | null }>`SELECT instance FROM cost_records ORDER BY id`, (rows) => rows.map((r) => r.instance)))

describe("the instance of cost records", () => {
  it.scoped("both write paths store the writer's instance", () =>
    Effect.gen(function* () {
      const file = yield* tempFile
      yield* Effect.gen(function* () {
        yield* writeAs("on-worker", RecordStoreSql.layerWith({ thread: "worker" }).pipe(Layer.orDie), [spend(1, 1), spend(2, 2)])
        yield* writeAs("on-main", RecordStoreSql.layerMain, [spend(3, 3)])
        assert.deepStrictEqual(yield* instances, ["on-worker", "on-worker", "on-main"])
      }).pipe(Effect.provide(Sqlite.layer(file)))
    }).pipe(Effect.provide(NodeContext.layer)))
})

layer(Layer.merge(TestPostgres.layer, NodeContext.layer), { timeout: 60_000 })("spendByWriter", (it) => {
  for (const database of databases) {
    it.effect(`${database.name}: this instance's spend and the others' (rows without an instance among them), since each instant`, () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // a row from before migration 0008: no instance
        yield* sql`INSERT INTO cost_records (at, request_id, model, provider, agent_type, prompt_tokens, completion_tokens, cached_tokens, cost_pico, cache_hit)
                   VALUES (150, 'old', 'm', 'openai', 'team', 1, 1, 0, 7, 0)`
        yield* writeAs("a", RecordStoreSql.layerMain, [spend(1, 50), spend(10, 100), spend(100, 200, "m", "team")])
        yield* writeAs("b", RecordStoreSql.layerMain, [spend(1_000, 200), spend(10_000, 300, "n", "team")])
        const groups = yield* (yield* CostStore).spendByWriter!("a", [100, 200])
        const sorted = groups
          .map((g) => [g.model, g.agentType, g.mine, g.costPicoUsd.map(Number)] as const)
          .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))
        assert.deepStrictEqual(sorted, [
          ["m", "team", false, [7, 0]],
          ["m", "team", true, [100, 100]],
          ["m", null, false, [1_000, 1_000]],
          ["m", null, true, [10, 0]],
          ["n", "team", false, [10_000, 10_000]]
        ])
      }).pipe(Effect.provide(CostStoreSql.layer.pipe(Layer.provideMerge(database.layer))), Effect.orDie))
  }
})
