/**
 * The worker thread's write path (`toTableColumns`: records straight to
 * columns and flat values; `insertColumns`: those into prepared multi-row
 * INSERTs of constant text) against the in-thread one (`toTables`: row
 * objects; `insertTables`: `sql.insert` of them): the same rows, values and
 * storage types, NULLs included, for random batches of every record kind.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { latencyBucket } from "@modelgate/core/Metrics/Aggregate"
import { assert, describe, it } from "@effect/vitest"
import {
  BudgetAlertRecord,
  CostRecord,
  FailoverRecord,
  type GatewayRecord,
  HealthCheckRecord,
  PerformanceRecord,
  QualityScoreRecord,
  RateLimitEventRecord
} from "@modelgate/domain/Records"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { toTableColumns } from "@modelgate/sql/internal/recordColumns"
import { describeSqlError, insertColumns, insertStatements, insertTables, maxRowsPerInsert, toColumns } from "@modelgate/sql/internal/recordRows"
import { Effect, FastCheck as fc, Layer } from "effect"

const tables = ["cost_records", "performance_records", "health_checks", "rate_limit_events", "failover_events", "quality_scores", "budget_alerts"]

const text = fc.string({ unit: "binary", maxLength: 12 })
const maybe = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined })
const at = fc.integer({ min: 0, max: 2 ** 42 })
const count = fc.maxSafeNat()
const real = fc.double({ noNaN: true, min: -1e12, max: 1e12 })
const latency = fc.double({ noNaN: true, min: 0, max: 1e7 })

/** Any record, built as core builds them (validation off, absent options as undefined). */
const record: fc.Arbitrary<GatewayRecord> = fc.oneof(
  fc
    .record({
      at,
      requestId: text,
      model: text,
      provider: text,
      apiKeyId: maybe(text),
      agentType: maybe(text),
      taskType: maybe(text),
      promptTokens: count,
      completionTokens: count,
      cachedTokens: count,
      costPicoUsd: count,
      cacheHit: fc.boolean()
    })
    .map((props) => new CostRecord(props, true)),
  fc
    .record({
      at,
      requestId: text,
      model: text,
      provider: text,
      agentType: maybe(text),
      latencyMs: latency,
      timeToFirstTokenMs: maybe(latency),
      success: fc.boolean(),
      errorClass: maybe(text),
      outputTokens: count,
      streamed: fc.boolean(),
      cacheHit: fc.boolean()
    })
    .map((props) => new PerformanceRecord(props, true)),
  fc
    .record({
      at,
      model: text,
      ok: fc.boolean(),
      latencyMs: latency,
      errorClass: maybe(text),
      source: fc.constantFrom("probe" as const, "traffic" as const)
    })
    .map((props) => new HealthCheckRecord(props, true)),
  fc
    .record({
      at,
      model: text,
      kind: fc.constantFrom("warning" as const, "limited" as const, "reset" as const),
      dimension: maybe(fc.constantFrom("requests" as const, "tokens" as const)),
      detail: text
    })
    .map((props) => new RateLimitEventRecord(props, true)),
  fc
    .record({
      at,
      requestId: maybe(text),
      from: text,
      agentType: maybe(text),
      to: maybe(text),
      reason: text,
      attempt: fc.nat(),
      elapsedMs: real
    })
    .map((props) => new FailoverRecord(props, true)),
  fc
    .record({
      at,
      requestId: text,
      model: text,
      taskType: maybe(text),
      completeness: real,
      relevance: real,
      coherence: real,
      score: real,
      lowQuality: fc.boolean()
    })
    .map((props) => new QualityScoreRecord(props, true)),
  fc
    .record({
      at,
      budget: text,
      period: text,
      periodStart: at,
      threshold: real,
      spentPicoUsd: count,
      limitPicoUsd: fc.bigInt({ min: 0n, max: 10n ** 24n })
    })
    .map((props) => new BudgetAlertRecord(props, true))
)

/** Mostly small batches, some with hundreds of rows of one kind (several INSERT chunks). */
const batch = fc.oneof(
  fc.array(record, { maxLength: 40 }),
  fc.tuple(record, fc.integer({ min: 100, max: 700 })).map(([one, n]) => Array.from({ length: n }, () => one)),
  fc.array(record, { minLength: 150, maxLength: 500 })
)

/** Every row of every record table, in insert order, each value with its SQLite storage type. */
const dump = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const out: Record<string, ReadonlyArray<unknown>> = {}
  for (const table of tables) {
    const columns = (yield* sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`).map((c) => c.name)
    const rows = yield* sql.unsafe<Record<string, unknown>>(
      `SELECT ${columns.map((c) => `"${c}", typeof("${c}") AS "type_of_${c}"`).join(", ")} FROM "${table}" ORDER BY id`
    )
    out[table] = rows
  }
  return out
})

const memory = Layer.build(Sqlite.layer(":memory:").pipe(Layer.provide(NodeContext.layer)))

describe("insertColumns (the worker's insert path)", () => {
  it.effect.prop(
    "writes exactly the rows insertTables writes: values, NULLs and storage types, every table",
    { records: batch },
    ({ records }) =>
      Effect.gen(function* () {
        const rows = RecordStoreSql.toTables(records)
        const columns = toTableColumns(records)
        assert.deepStrictEqual(columns, rows.map(toColumns))
        const viaRows = yield* memory
        const viaColumns = yield* memory
        yield* Effect.flatMap(SqlClient.SqlClient, (sql) => insertTables(sql, rows)).pipe(Effect.provide(viaRows))
        const written = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => insertColumns(sql, columns)).pipe(
          Effect.provide(viaColumns)
        )
        assert.isTrue(written)
        const expected = yield* Effect.provide(dump, viaRows)
        assert.deepStrictEqual(yield* Effect.provide(dump, viaColumns), expected)
        assert.strictEqual(
          Object.values(expected).reduce((n, t) => n + t.length, 0),
          records.length
        )
      }).pipe(Effect.scoped, Effect.orDie),
    { fastCheck: { numRuns: 100 } }
  )

  it.effect("a batch id committed before is not written again, in one transaction with its rows", () =>
    Effect.gen(function* () {
      const db = yield* memory
      const write = (records: ReadonlyArray<GatewayRecord>, id: string) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => insertColumns(sql, RecordStoreSql.toTables(records).map(toColumns), id, 2)).pipe(
          Effect.provide(db)
        )
      const rows = (table: string) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)}`).pipe(
          Effect.map((r) => r[0]?.n),
          Effect.provide(db)
        )
      const cost = (i: number, costPicoUsd = i) =>
        new CostRecord(
          { at: i, requestId: `r${i}`, model: "m", provider: "p", promptTokens: 1, completionTokens: 1, cachedTokens: 0, costPicoUsd, cacheHit: false },
          true
        )
      const costs = Array.from({ length: 300 }, (_, i) => cost(i))
      assert.isTrue(yield* write(costs, "a"))
      assert.isFalse(yield* write(costs, "a"))
      assert.strictEqual(yield* rows("cost_records"), 300)
      // A failed batch (here: a CHECK constraint) leaves neither rows nor its id: a retry writes it.
      const failure = yield* Effect.flip(write([...costs.slice(0, 5), cost(5, -1)], "b"))
      assert.include(describeSqlError(failure), "CHECK constraint failed")
      assert.strictEqual(yield* rows("cost_records"), 300)
      assert.strictEqual(yield* rows("record_batches"), 1)
      assert.isTrue(yield* write(costs.slice(0, 5), "b"))
      assert.strictEqual(yield* rows("cost_records"), 305)
      // Pruned to the newest `keep` (2) ids.
      assert.isTrue(yield* write(costs.slice(0, 1), "c"))
      assert.strictEqual(yield* rows("record_batches"), 2)
    }).pipe(Effect.scoped))

  it.effect("keeps at least the newest `keep` batch ids, pruning every tenth of `keep` ids", () =>
    Effect.gen(function* () {
      const db = yield* memory
      const sql = yield* Effect.provide(SqlClient.SqlClient, db)
      const write = (id: string) => insertColumns(sql, [], id, 20)
      const counts: Array<number> = []
      for (let i = 1; i <= 45; i++) {
        assert.isTrue(yield* write(`id-${i}`))
        const ids = (yield* sql<{ id: string }>`SELECT id FROM record_batches ORDER BY seq`).map((r) => r.id)
        counts.push(ids.length)
        // The newest 20 (or all so far) are always there: each is recognised when retried.
        assert.deepStrictEqual(ids.slice(-Math.min(i, 20)), Array.from({ length: Math.min(i, 20) }, (_, k) => `id-${i - Math.min(i, 20) + k + 1}`))
      }
      assert.strictEqual(Math.max(...counts), 21)
      assert.strictEqual(counts.at(-1), 21)
      for (let i = 26; i <= 45; i++) assert.isFalse(yield* write(`id-${i}`))
    }).pipe(Effect.scoped))

  it("splits each table's rows into power-of-two chunks of constant text, at most maxRowsPerInsert rows each", () => {
    const texts = new Set<string>()
    for (let n = 0; n <= 1_000; n += 7) {
      const statements = insertStatements([{ table: "health_checks", columns: ["at", "model"], values: Array.from({ length: n * 2 }, (_, i) => i) }])
      const sizes = statements.map(([, params]) => params.length / 2)
      assert.strictEqual(sizes.reduce((a, b) => a + b, 0), n)
      for (const [i, size] of sizes.entries()) {
        assert.isTrue(size <= maxRowsPerInsert && (size & (size - 1)) === 0, `chunk of ${size} rows`)
        if (i > 0) assert.isAtMost(size, sizes[i - 1]!)
      }
      assert.deepStrictEqual(statements.flatMap(([, params]) => params), Array.from({ length: n * 2 }, (_, i) => i))
      for (const [sql] of statements) texts.add(sql)
    }
    assert.isAtMost(texts.size, Math.log2(maxRowsPerInsert) + 1)
    assert.isTrue([...texts].every((sql) => sql.startsWith(`INSERT INTO "health_checks" ("at","model") VALUES (?,?)`)))
  })
})

describe("record columns", () => {
  it("each kind maps to its table's columns, in order, absent options as NULL and booleans as 0/1", () => {
    // Values differ between the columns of a row (two performance rows for its three booleans), so a swap shows.
    const rows = [
      new CostRecord(
        { at: 100, requestId: "r", model: "m", provider: "p", agentType: "a", promptTokens: 2, completionTokens: 3, cachedTokens: 4, cacheWriteTokens: 6, reasoningTokens: 1, costPicoUsd: 5, cacheHit: true },
        true
      ),
      new PerformanceRecord(
        { at: 100, requestId: "r", model: "m", provider: "p", latencyMs: 0.5, success: false, errorClass: "Timeout", outputTokens: 7, streamed: true, cacheHit: true },
        true
      ),
      new PerformanceRecord(
        { at: 100, requestId: "r", model: "m", provider: "p", agentType: "a", latencyMs: 900, timeToFirstTokenMs: 8, success: true, outputTokens: 7, streamed: false, cacheHit: true },
        true
      ),
      new HealthCheckRecord({ at: 100, model: "m", provider: "p", ok: true, latencyMs: 3, source: "probe" }, true),
      new RateLimitEventRecord({ at: 100, model: "m", kind: "limited", detail: "d" }, true),
      new FailoverRecord({ at: 100, from: "m", provider: "p", agentType: "a", to: "n", reason: "Timeout", attempt: 2, elapsedMs: 30 }, true),
      new QualityScoreRecord({ at: 100, requestId: "r", model: "m", taskType: "t", completeness: 1, relevance: 0.5, coherence: 0.25, score: 0.6, lowQuality: false }, true),
      new BudgetAlertRecord({ at: 100, budget: "b", period: "daily", periodStart: 0, threshold: 0.8, spentPicoUsd: 8, limitPicoUsd: 10n }, true)
    ].map((record) => {
      const [table, row] = RecordStoreSql.toRow(record)
      return [table, Object.entries(row)]
    })
    assert.deepStrictEqual(rows, [
      ["cost_records", Object.entries({ at: 100, request_id: "r", model: "m", provider: "p", api_key_id: null, agent_type: "a", task_type: null, prompt_tokens: 2, completion_tokens: 3, cached_tokens: 4, cost_pico: 5, cache_hit: 1, cache_write_tokens: 6, reasoning_tokens: 1 })],
      ["performance_records", Object.entries({ at: 100, request_id: "r", model: "m", provider: "p", agent_type: null, latency_ms: 0.5, ttft_ms: null, success: 0, error_class: "Timeout", output_tokens: 7, streamed: 1, cache_hit: 1, latency_bucket: 0 })],
      ["performance_records", Object.entries({ at: 100, request_id: "r", model: "m", provider: "p", agent_type: "a", latency_ms: 900, ttft_ms: 8, success: 1, error_class: null, output_tokens: 7, streamed: 0, cache_hit: 1, latency_bucket: latencyBucket(900) })],
      ["health_checks", Object.entries({ at: 100, model: "m", ok: 1, latency_ms: 3, error_class: null, source: "probe", provider: "p" })],
      ["rate_limit_events", Object.entries({ at: 100, model: "m", kind: "limited", dimension: null, detail: "d" })],
      ["failover_events", Object.entries({ at: 100, request_id: null, from_model: "m", to_model: "n", reason: "Timeout", attempt: 2, elapsed_ms: 30, provider: "p", agent_type: "a" })],
      ["quality_scores", Object.entries({ at: 100, request_id: "r", model: "m", task_type: "t", completeness: 1, relevance: 0.5, coherence: 0.25, score: 0.6, low_quality: 0 })],
      ["budget_alerts", Object.entries({ at: 100, budget: "b", period: "daily", period_start: 0, threshold: 0.8, spent_pico: 8, limit_pico: 10, limit_pico_exact: "10" })]
    ])
    assert.notStrictEqual(latencyBucket(900), 0)
  })
})
