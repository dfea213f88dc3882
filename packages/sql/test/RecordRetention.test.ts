/**
 * The record retention (`records.retentionDays`): rows of every record table
 * recorded before now minus the retention are deleted at start and every hour,
 * newer ones stay; on a SQLite file the deletes run on the write worker, never
 * on this thread's connection; a table that fails is retried at the next run.
 * On a SQLite file and on PostgreSQL.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient, Statement } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { RecordStore } from "@modelgate/core/RecordStore"
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
import { RecordTable } from "@modelgate/sql/internal/recordRows"
import * as RecordRetention from "@modelgate/sql/RecordRetention"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer, Logger, Stream, TestClock } from "effect"
import { databases } from "./databases.js"

const DAY = 86_400_000
const now = Date.UTC(2026, 5, 15, 12)
const tables = RecordTable.literals

/** One record of each table, recorded at `at`. */
const everyKind = (at: number, id: string): ReadonlyArray<GatewayRecord> => [
  CostRecord.make({ at, requestId: id, model: "m1", provider: "openai", promptTokens: 1, completionTokens: 2, cachedTokens: 0, costPicoUsd: 5, cacheHit: false }),
  PerformanceRecord.make({ at, requestId: id, model: "m1", provider: "openai", latencyMs: 12.5, success: true, outputTokens: 2, streamed: false, cacheHit: false }),
  HealthCheckRecord.make({ at, model: "m1", ok: true, latencyMs: 3, source: "probe" }),
  RateLimitEventRecord.make({ at, model: "m1", kind: "warning", dimension: "tokens", detail: "90%" }),
  FailoverRecord.make({ at, from: "m1", to: "m2", reason: "Timeout", attempt: 1, elapsedMs: 30 }),
  QualityScoreRecord.make({ at, requestId: id, model: "m1", completeness: 1, relevance: 0.5, coherence: 0.9, score: 0.8, lowQuality: false }),
  BudgetAlertRecord.make({ at, budget: "global", period: "daily", periodStart: at, threshold: 0.5, spentPicoUsd: 5, limitPicoUsd: 10n })
]

/** The `at` of every row of `table`, ascending. */
const times = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ at: number | string }>`SELECT at FROM ${sql(table)} ORDER BY at`).pipe(
    Effect.map((rows) => rows.map((row) => Number(row.at)))
  )

/** The `at`s of every record table. */
const everyTable = () => Effect.all(Object.fromEntries(tables.map((t) => [t, times(t)])))

/** From now on every DELETE on `table` fails (a trigger `refuse_deletes`), as a database refusing writes would. */
const refuseDeletes = (database: "SQLite" | "PostgreSQL", table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    database === "SQLite"
      ? sql.unsafe(`CREATE TRIGGER refuse_deletes BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, 'deletes refused'); END`)
      : Effect.zipRight(
        sql.unsafe(`CREATE FUNCTION refuse_deletes() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'deletes refused'; END $$ LANGUAGE plpgsql`),
        sql.unsafe(`CREATE TRIGGER refuse_deletes BEFORE DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_deletes()`)
      ))

/** Drop the trigger of `refuseDeletes`. */
const allowDeletes = (database: "SQLite" | "PostgreSQL", table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(database === "SQLite" ? "DROP TRIGGER refuse_deletes" : `DROP TRIGGER refuse_deletes ON ${table}`))

const configWith = (retentionDays: number) =>
  GatewayConfig.layerStatic(new GatewayConfigData({ ...defaultConfig, records: RecordsConfig.make({ retentionDays }) }))

/** Wait until the retention has finished `n` runs. */
const runsReach = (retention: RecordRetention.RecordRetention, n: number) =>
  retention.runs.changes.pipe(Stream.filter((runs) => runs >= n), Stream.runHead)

/** Log lines (level and message) written while the effect runs, its forked fibers included. */
const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** The DELETE statements run on this thread's connection while the effect runs, its forked fibers included. */
const deletesOnThisThread = () => {
  const deletes: Array<string> = []
  const transformer: Statement.Statement.Transformer = (statement) =>
    Effect.sync(() => {
      const [text] = statement.compile()
      if (/^\s*DELETE/i.test(text)) deletes.push(text)
      return statement
    })
  return { deletes, transformer }
}

layer(Layer.merge(TestPostgres.layer, NodeContext.layer), { timeout: 60_000 })("record retention", (it) => {
  for (const database of databases) {
    const stores = (retentionDays: number) =>
      Layer.mergeAll(RecordStoreSql.layer, configWith(retentionDays)).pipe(Layer.provideMerge(database.layer))

    it.effect(`${database.name}: the start run deletes every table's rows older than the retention and keeps the newer ones`, () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(now)
        const old = now - 41 * DAY
        const edge = now - 40 * DAY
        const kept = now - 39 * DAY
        yield* (yield* RecordStore).writeBatch([...everyKind(old, "old"), ...everyKind(edge, "edge"), ...everyKind(kept, "kept")])
        const logs = captureLogs()
        const { deletes, transformer } = deletesOnThisThread()

        const retention = yield* Statement.withTransformer(RecordRetention.make(), transformer).pipe(Effect.provide(logs.layer))
        assert.strictEqual(retention.retentionDays, 40)
        yield* runsReach(retention, 1)

        // Exactly 40 days old is not older than the retention: kept.
        const expected = Object.fromEntries(tables.map((t) => [t, [edge, kept]]))
        assert.deepStrictEqual(yield* everyTable(), expected)
        assert.deepStrictEqual(
          logs.lines.filter((line) => line.includes("record retention")),
          [
            `INFO record retention (40 days): removed ${tables.map((t) => `1 ${t}`).join(", ")} recorded before ${new Date(edge).toISOString()}`
          ]
        )
        // On a SQLite file the deletes run on the worker thread's connection, not on this thread's.
        if (database.name === "SQLite") assert.deepStrictEqual(deletes, [])
        else assert.isNotEmpty(deletes)
      }).pipe(Effect.scoped, Effect.provide(stores(40))))

    it.effect(`${database.name}: a table with more old rows than one statement deletes is cleared in chunks`, () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(now)
        const retention = yield* RecordRetention.make({ chunk: 3 })
        yield* runsReach(retention, 1)
        const store = yield* RecordStore
        yield* store.writeBatch(Array.from({ length: 10 }, (_, i) => everyKind(now - 50 * DAY + i, `old-${i}`)[0]!))
        yield* store.writeBatch(everyKind(now - DAY, "new"))

        assert.deepStrictEqual(yield* retention.run, { cost_records: 10 })
        assert.deepStrictEqual(yield* times("cost_records"), [now - DAY])
      }).pipe(Effect.scoped, Effect.provide(stores(40))))

    it.effect(`${database.name}: runs every hour; a table that fails is logged and cleared at the next run`, () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(now)
        yield* (yield* RecordStore).writeBatch([...everyKind(now - 60 * DAY, "old"), ...everyKind(now - 40 * DAY + 1_000, "soon-old")])
        yield* refuseDeletes(database.name, "health_checks")
        const logs = captureLogs()

        const retention = yield* RecordRetention.make().pipe(Effect.provide(logs.layer))
        yield* runsReach(retention, 1)
        const cleared = Object.fromEntries(tables.map((t) => [t, [now - 40 * DAY + 1_000]]))
        assert.deepStrictEqual(yield* everyTable(), {
          ...cleared,
          health_checks: [now - 60 * DAY, now - 40 * DAY + 1_000]
        })
        assert.strictEqual(logs.lines.length, 1)
        assert.match(logs.lines[0]!, /^WARN record retention \(40 days\): removed 1 cost_records, .*could not delete from health_checks: .*deletes refused.*; tried again at the next run$/)

        yield* allowDeletes(database.name, "health_checks")
        yield* TestClock.adjust("1 hour")
        yield* runsReach(retention, 2)
        // An hour later the row of 40 days less a second is older than the retention too.
        assert.deepStrictEqual(yield* everyTable(), Object.fromEntries(tables.map((t) => [t, []])))
        assert.strictEqual(logs.lines.length, 2)
        assert.strictEqual(logs.lines[1], `INFO record retention (40 days): removed ${tables.map((t) => `${t === "health_checks" ? 2 : 1} ${t}`).join(", ")} recorded before ${new Date(now + 3_600_000 - 40 * DAY).toISOString()}`)
      }).pipe(Effect.scoped, Effect.provide(stores(40))))

    it.effect(`${database.name}: retentionDays 0 keeps every record and runs nothing`, () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(now)
        yield* (yield* RecordStore).writeBatch(everyKind(1_000, "ancient"))
        const retention = yield* RecordRetention.make()
        assert.deepStrictEqual(yield* retention.run, {})
        yield* TestClock.adjust("2 hours")
        assert.strictEqual(yield* retention.runs.get, 0)
        assert.deepStrictEqual(yield* everyTable(), Object.fromEntries(tables.map((t) => [t, [1_000]])))
      }).pipe(Effect.scoped, Effect.provide(stores(0))))
  }
})
