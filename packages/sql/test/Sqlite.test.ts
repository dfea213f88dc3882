import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { loader } from "@modelgate/sql/Migrations"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Layer, Ref } from "effect"

describe("Sqlite.layer", () => {
  it.scoped("creates the directory, runs in WAL mode, migrates once, and reopening keeps the data", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sqlite-" })
      const file = path.join(dir, "a", "b", "modelgate.db")
      const expected = (yield* loader).map(([id, name]) => `${id}_${name}`)

      const first = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [mode] = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
        yield* sql`INSERT INTO model_overrides (id, kind, body, updated_at) VALUES ('m', 'update', '{}', 1)`
        const applied = yield* sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
        return { mode: mode?.journal_mode, applied: applied.map((r) => `${r.migration_id}_${r.name}`) }
      }).pipe(Effect.provide(Sqlite.layer(file)))
      assert.strictEqual(first.mode, "wal")
      assert.deepStrictEqual(first.applied, expected)
      assert.isTrue(yield* fs.exists(file))

      const second = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const applied = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM effect_sql_migrations`
        const rows = yield* sql<{ id: string }>`SELECT id FROM model_overrides`
        return { migrations: applied[0]?.n, rows: rows.map((r) => r.id) }
      }).pipe(Effect.provide(Sqlite.layer(file)))
      assert.strictEqual(second.migrations, expected.length)
      assert.deepStrictEqual(second.rows, ["m"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("creates the directory with the FileSystem it is given, as its type says (no Node one of its own)", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sqlite-fs-" })
      const file = path.join(dir, "given", "modelgate.db")
      const made = yield* Ref.make<ReadonlyArray<string>>([])
      const recording = Layer.succeed(FileSystem.FileSystem, {
        ...fs,
        makeDirectory: (at, options) => Effect.zipRight(Ref.update(made, (all) => [...all, at]), fs.makeDirectory(at, options))
      })
      yield* Effect.provide(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`), Sqlite.layer(file).pipe(Layer.provide(recording)))
      assert.deepStrictEqual(yield* Ref.get(made), [path.join(dir, "given")])
    }).pipe(Effect.provide(NodeContext.layer)))
})
