/**
 * Both connections that write a database file commit with
 * `synchronous = FULL` (a committed batch survives a power loss), not the
 * NORMAL that better-sqlite3 gives WAL connections; the write worker's also
 * keeps statement journals in memory.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect } from "effect"
import { workerConnection } from "../src/internal/writeConnection.js"

/** `synchronous` and `temp_store` of the connection in context (2 = FULL, 2 = MEMORY). */
const pragmas = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [sync] = yield* sql<{ synchronous: number }>`PRAGMA synchronous`
  const [temp] = yield* sql<{ temp_store: number }>`PRAGMA temp_store`
  return { synchronous: sync?.synchronous, tempStore: temp?.temp_store }
})

describe("write connections", () => {
  it.scoped("the main connection and the worker's commit with synchronous = FULL, on a file already in WAL mode", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const file = path.join(yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sync-" }), "modelgate.db")
      // twice: the second open finds the file in WAL mode already, where the driver's default is NORMAL
      for (let i = 0; i < 2; i++) {
        assert.strictEqual((yield* pragmas.pipe(Effect.provide(Sqlite.layer(file)))).synchronous, 2)
      }
      assert.deepStrictEqual(yield* pragmas.pipe(Effect.provide(workerConnection(file))), { synchronous: 2, tempStore: 2 })
    }).pipe(Effect.provide(NodeContext.layer)))
})
