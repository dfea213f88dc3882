/**
 * A batch whose transaction SQLite rolls back by itself. SQLite does that on
 * SQLITE_FULL (disk full), SQLITE_IOERR and others; a `RAISE(ROLLBACK)`
 * trigger does it on demand, portably. @effect/sql then issues its own
 * ROLLBACK, which fails ("no transaction is active"), and makes that a defect;
 * a COMMIT that fails (SQLITE_FULL when the WAL is appended) is a defect too.
 *
 * - On the worker thread, the write must be a StoreError whose reason is the
 *   driver's ("database or disk is full"), not "Failed to execute statement",
 *   so the log says why records are not written.
 * - On this thread (`:memory:`, `layerMain`), the write must be a StoreError
 *   (a failure), not a defect: a defect kills the record writer's fiber, and
 *   no record is written again until shutdown, while costs fill the queue
 *   and then hold every request (back-pressure).
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord } from "@modelgate/domain/Records"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Cause, Context, Effect, Exit, Layer, Option } from "effect"
import { count, tempFile } from "./recordFixtures.js"

const cost = (i: number, model = "m1") =>
  CostRecord.make({
    at: i,
    requestId: `req-${i}`,
    model,
    provider: "openai",
    promptTokens: 1,
    completionTokens: 1,
    cachedTokens: 0,
    costPicoUsd: 5,
    cacheHit: false
  })

/** Every batch with a `poison` cost is rolled back by SQLite itself, as on a full disk. */
const poison = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql`CREATE TRIGGER poison BEFORE INSERT ON cost_records WHEN NEW.model = 'poison'
        BEGIN SELECT RAISE(ROLLBACK, 'simulated: database or disk is full'); END`
)

const paths = [
  { name: "a worker thread (file database)", thread: "worker", file: true },
  { name: "this thread (:memory: database)", thread: "main", file: false }
] as const

describe.each(paths)("a transaction SQLite rolled back itself, writing on $name", ({ file, thread }) => {
  it.scoped("is a StoreError (a failure, not a defect) naming the driver's reason; the next batch is written", () =>
    Effect.gen(function* () {
      const db = yield* Layer.build(Sqlite.layer(file ? yield* tempFile : ":memory:"))
      yield* Effect.provide(poison, db)
      const store = Context.get(
        yield* Layer.build(RecordStoreSql.layerWith({ thread }).pipe(Layer.orDie, Layer.provide(Layer.succeedContext(db)))),
        RecordStore
      )
      const exit = yield* Effect.exit(store.writeBatch([cost(1), cost(2, "poison")]))
      assert.isTrue(Exit.isFailure(exit))
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(failure), `a defect, not a StoreError: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
      assert.include(Option.getOrThrow(failure).reason, "simulated: database or disk is full")
      yield* store.writeBatch([cost(3)])
      assert.strictEqual(yield* Effect.provide(count("cost_records"), db), 1)
    }).pipe(Effect.provide(NodeContext.layer)))
})
