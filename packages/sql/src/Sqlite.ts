/**
 * The embedded SQLite database: a WAL-mode client on one file, migrated before
 * first use. The directory of the file is created when missing.
 */
import { NodeContext } from "@effect/platform-node"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { FileSystem, Path } from "@effect/platform"
import { Effect, Layer } from "effect"
import { loader } from "./Migrations.js"

/** Migrate the database behind `SqlClient`. */
export const migrations = SqliteMigrator.layer({ loader })

/** Create the parent directory of `filename` (no-op for `:memory:`). */
const ensureDirectory = (filename: string) =>
  Effect.gen(function* () {
    if (filename === ":memory:") return
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(path.resolve(filename)), { recursive: true })
  }).pipe(Effect.provide(NodeContext.layer), Effect.orDie)

/** A migrated SQLite database at `filename` (WAL mode). */
export const layer = (filename: string) =>
  migrations.pipe(
    Layer.provideMerge(
      Layer.unwrapEffect(Effect.as(ensureDirectory(filename), SqliteClient.layer({ filename })))
    ),
    Layer.orDie
  )
