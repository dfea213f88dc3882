/**
 * The SQL `ModelStore`: registry overrides in the `model_overrides` table, one
 * row per model id, the body JSON decoded with Schema on the way out.
 */
import { SqlClient, SqlSchema } from "@effect/sql"
import { ModelStore, type ModelOverride, AddedModel, UpdatedModel, overrideId } from "@modelgate/core/ModelStore"
import { StoreError } from "@modelgate/domain/Errors"
import { ModelId } from "@modelgate/domain/Ids"
import { ModelMetadata, ModelPatch } from "@modelgate/domain/Model"
import { Clock, Effect, Layer, Schema } from "effect"
import { describeSqlError } from "./internal/recordRows.js"

/** A `model_overrides` row, decoded into the override it stores. */
const OverrideRow = Schema.Union(
  Schema.Struct({ id: ModelId, kind: Schema.Literal("add"), body: Schema.parseJson(ModelMetadata) }),
  Schema.Struct({ id: ModelId, kind: Schema.Literal("update"), body: Schema.parseJson(ModelPatch) })
)

const toOverride = (row: typeof OverrideRow.Type): ModelOverride =>
  row.kind === "add" ? AddedModel.make({ model: row.body }) : UpdatedModel.make({ id: row.id, patch: row.body })

const storeError = (operation: string) => (cause: { readonly message: string; readonly cause?: unknown }) =>
  new StoreError({ operation, reason: describeSqlError(cause) })

/** Build the store on the current `SqlClient` (migrated by `Sqlite.layer`). */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const list = SqlSchema.findAll({
    Request: Schema.Void,
    Result: OverrideRow,
    // The order the overrides were first put in: SQLite's rowid, PostgreSQL's `seq` identity.
    execute: () =>
      sql.onDialectOrElse({
        pg: () => sql`SELECT id, kind, body FROM model_overrides ORDER BY seq`,
        orElse: () => sql`SELECT id, kind, body FROM model_overrides ORDER BY rowid`
      })
  })

  return ModelStore.of({
    list: list(undefined).pipe(
      Effect.map((rows) => rows.map(toOverride)),
      Effect.mapError(storeError("model_overrides.list")),
      Effect.withSpan("ModelStoreSql.list")
    ),
    put: Effect.fn("ModelStoreSql.put")(function* (override: ModelOverride) {
      const now = yield* Clock.currentTimeMillis
      const row =
        override._tag === "AddedModel"
          ? { id: override.model.id, kind: "add", body: JSON.stringify(Schema.encodeSync(ModelMetadata)(override.model)) }
          : { id: override.id, kind: "update", body: JSON.stringify(Schema.encodeSync(ModelPatch)(override.patch)) }
      yield* sql`
        INSERT INTO model_overrides (id, kind, body, updated_at)
        VALUES (${row.id}, ${row.kind}, ${row.body}, ${now})
        ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, body = excluded.body, updated_at = excluded.updated_at
      `.pipe(Effect.mapError(storeError(`model_overrides.put ${overrideId(override)}`)))
    }),
    remove: Effect.fn("ModelStoreSql.remove")(function* (id: string) {
      yield* sql`DELETE FROM model_overrides WHERE id = ${id}`.pipe(Effect.mapError(storeError(`model_overrides.remove ${id}`)))
    })
  })
})

/** `ModelStore` on SQL (provide a migrated `SqlClient`, e.g. `Sqlite.layer(filename)`). */
export const layer: Layer.Layer<ModelStore, never, SqlClient.SqlClient> = Layer.effect(ModelStore, make)
