/** Records, a temporary database file and a row counter, shared by the record worker tests. */
import { FileSystem } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { CostRecord, PerformanceRecord } from "@modelgate/domain/Records"
import { Effect } from "effect"

/** A database path in a temporary directory of the test's scope. */
export const tempFile = Effect.map(
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "modelgate-record-worker-" })),
  (dir) => `${dir}/modelgate.db`
)

/** How many rows `table` has (a number from SQLite, a string from PostgreSQL's `COUNT`). */
export const count = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql(table)}`).pipe(
    Effect.map((rows) => Number(rows[0]?.n ?? -1))
  )

/** A cost record of request `req-<i>`. */
export const cost = (i: number) =>
  CostRecord.make({
    at: 1_000 + i,
    requestId: `req-${i}`,
    model: "m1",
    provider: "openai",
    apiKeyId: "openai-1",
    agentType: "coder",
    promptTokens: 100 + i,
    completionTokens: 20,
    cachedTokens: 3,
    costPicoUsd: 1_000_000 + i,
    cacheHit: i % 2 === 0
  })

/** A performance record of request `req-<i>`. */
export const performance = (i: number) =>
  PerformanceRecord.make({
    at: 1_000 + i,
    requestId: `req-${i}`,
    model: "m1",
    provider: "openai",
    latencyMs: 12.5 + i,
    timeToFirstTokenMs: 3.25,
    success: i % 3 !== 0,
    errorClass: i % 3 === 0 ? "Timeout" : undefined,
    outputTokens: 20,
    streamed: true,
    cacheHit: false
  })
