/**
 * `Sqlite.requireWrites`, the check `modelgate serve` runs at start
 * (`requireWrites: true`): SQLite opens a file it may read but not write
 * read-only without a word, and every record write then fails. On a
 * connection that takes no writes the check fails with `ReadOnlyFile`,
 * saying so; on one that does, it passes and writes nothing.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { assert, describe, it } from "@effect/vitest"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { FileSystem, Path } from "@effect/platform"
import { Effect, Either, Layer } from "effect"

/** A migrated database file in a scoped temporary directory. */
const migratedFile = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sqlite-readonly-" })
  const file = path.join(dir, "modelgate.db")
  yield* Effect.scoped(Layer.build(Sqlite.layer(file))).pipe(Effect.orDie)
  return file
})

describe("Sqlite.requireWrites", () => {
  it.scoped("a connection SQLite opened read-only fails it with ReadOnlyFile, saying the file is read-only", () =>
    Effect.gen(function* () {
      const file = yield* migratedFile
      const result = yield* Effect.either(Effect.provide(Sqlite.requireWrites, SqliteClient.layer({ filename: file, readonly: true })))
      assert.isTrue(Either.isLeft(result), "a read-only connection passed")
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "ReadOnlyFile")
        assert.include(result.left.message, "read-only")
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a writable one passes, and the batches table keeps its rows", () =>
    Effect.gen(function* () {
      const file = yield* migratedFile
      const rows = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const before = yield* sql<{ readonly n: number }>`SELECT count(*) AS n FROM record_batches`
        yield* Sqlite.requireWrites
        const after = yield* sql<{ readonly n: number }>`SELECT count(*) AS n FROM record_batches`
        return [before[0]?.n, after[0]?.n]
      }).pipe(Effect.provide(SqliteClient.layer({ filename: file })), Effect.orDie)
      assert.deepStrictEqual(rows, [rows[0], rows[0]])
    }).pipe(Effect.provide(NodeContext.layer)))
})
