/**
 * `Sqlite.layer` on a file that is not a SQLite database (or cannot be
 * created): a typed `StoreError` naming the absolute path and the reason, not
 * a defect with a stack trace.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Exit } from "effect"

/** Opens `file` with `Sqlite.layer`: the StoreError it fails with (the test fails on success or another cause). */
const openFailure = (file: string) =>
  Effect.map(Effect.exit(Effect.provide(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`), Sqlite.layer(file))), (exit) => {
    assert.isTrue(Exit.isFailure(exit), "opened")
    const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
    assert.strictEqual(error?._tag, "StoreError", Exit.isFailure(exit) ? String(exit.cause) : "")
    assert.include(error?.message, file)
    return error
  })

describe("Sqlite.layer that cannot open its file", () => {
  it.scoped("a non-SQLite file fails with a StoreError naming the path and 'not a database'", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sqlite-corrupt-" })
      const file = path.join(dir, "modelgate.db")
      yield* fs.writeFileString(file, "this is not a SQLite database, only some text that is long enough\n".repeat(20))
      const error = yield* openFailure(file)
      assert.include(error?.message, "not a database")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a path under a regular file fails with a StoreError naming the path", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sqlite-nodir-" })
      yield* fs.writeFileString(path.join(dir, "plain"), "x")
      const file = path.join(dir, "plain", "modelgate.db")
      yield* openFailure(file)
    }).pipe(Effect.provide(NodeContext.layer)))
})
