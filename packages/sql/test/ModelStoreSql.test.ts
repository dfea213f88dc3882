import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { SqliteMigrator } from "@effect/sql-sqlite-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { ModelRegistry, layer as registryLayer } from "@modelgate/core/ModelRegistry"
import { AddedModel, ModelStore, UpdatedModel } from "@modelgate/core/ModelStore"
import { ModelMetadata, ModelPatch } from "@modelgate/domain/Model"
import { loader } from "@modelgate/sql/Migrations"
import * as ModelStoreSql from "@modelgate/sql/ModelStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Layer, Schema } from "effect"

const rawModel = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  provider: "openai",
  providerModel: id,
  displayName: id,
  capabilities: ["chat"],
  contextWindow: 128_000,
  maxOutputTokens: 16_384,
  pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6, cachedInputPerMillion: 0.075 },
  rateLimits: { rpm: 500, tpm: 200_000 },
  qualityTier: "economy",
  qualityScore: 0.6,
  ...overrides
})

const encoded = (model: ModelMetadata) => JSON.stringify(Schema.encodeSync(ModelMetadata)(model))

/** A migrated SQLite file in a fresh temporary directory, with the SQL model store on it. */
const tempStore = Layer.unwrapScoped(
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-sql-" })
    return ModelStoreSql.layer.pipe(Layer.provideMerge(Sqlite.layer(`${dir}/nested/db/modelgate.db`)))
  })
).pipe(Layer.provide(NodeContext.layer))

layer(tempStore)("ModelStoreSql on a SQLite file", (it) => {
  it.effect.prop(
    "round-trips every model through SQL",
    { model: ModelMetadata },
    ({ model }) =>
      Effect.gen(function* () {
        const store = yield* ModelStore
        yield* store.put(AddedModel.make({ model }))
        const found = (yield* store.list).find((o) => o._tag === "AddedModel" && o.model.id === model.id)
        assert.isDefined(found)
        assert.strictEqual(found?._tag === "AddedModel" ? encoded(found.model) : "", encoded(model))
        yield* store.remove(model.id)
        assert.isFalse((yield* store.list).some((o) => o._tag === "AddedModel" && o.model.id === model.id))
      }),
    { fastCheck: { numRuns: 100 } }
  )

  it.effect.prop(
    "round-trips every patch through SQL",
    { patch: ModelPatch },
    ({ patch }) =>
      Effect.gen(function* () {
        const store = yield* ModelStore
        const override = UpdatedModel.make({ id: ModelMetadata.fields.id.make("patched"), patch })
        yield* store.put(override)
        const found = (yield* store.list).find((o) => o._tag === "UpdatedModel" && o.id === "patched")
        assert.strictEqual(
          found?._tag === "UpdatedModel" ? JSON.stringify(Schema.encodeSync(ModelPatch)(found.patch)) : "",
          JSON.stringify(Schema.encodeSync(ModelPatch)(patch))
        )
      }),
    { fastCheck: { numRuns: 100 } }
  )

  it.effect("keeps one row per model id, in first-written order", () =>
    Effect.gen(function* () {
      const store = yield* ModelStore
      const sql = yield* SqlClient.SqlClient
      yield* sql`DELETE FROM model_overrides`
      const a = Schema.decodeUnknownSync(ModelMetadata)(rawModel("a"))
      const b = Schema.decodeUnknownSync(ModelMetadata)(rawModel("b"))
      yield* store.put(AddedModel.make({ model: a }))
      yield* store.put(AddedModel.make({ model: b }))
      yield* store.put(AddedModel.make({ model: ModelMetadata.make({ ...a, displayName: "A2" }) }))
      const list = yield* store.list
      assert.deepStrictEqual(list.map((o) => (o._tag === "AddedModel" ? o.model.displayName : "")), ["A2", "b"])
    }))

  it.effect("fails with StoreError on a row that does not decode", () =>
    Effect.gen(function* () {
      const store = yield* ModelStore
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO model_overrides (id, kind, body, updated_at) VALUES ('bad', 'add', '{"id":"bad"}', 0)`
      const error = yield* Effect.flip(store.list)
      assert.strictEqual(error._tag, "StoreError")
      yield* sql`DELETE FROM model_overrides WHERE id = 'bad'`
    }))

  it.effect("migrations are idempotent: a second run applies nothing and keeps the data", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT OR REPLACE INTO model_overrides (id, kind, body, updated_at) VALUES ('keep', 'update', '{}', 0)`
      const again = yield* SqliteMigrator.run({ loader }).pipe(Effect.provide(NodeContext.layer))
      assert.deepStrictEqual(again, [])
      const rows = yield* sql<{ id: string }>`SELECT id FROM model_overrides WHERE id = 'keep'`
      assert.strictEqual(rows.length, 1)
      const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'model_overrides'`
      assert.strictEqual(tables.length, 1)
    }))
})

describe("ModelRegistry over SQLite", () => {
  it.scoped("added and updated models survive a restart", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-registry-" })
      const file = path.join(dir, "models.json")
      yield* fs.writeFileString(
        file,
        JSON.stringify({ models: [rawModel("gpt-4o-mini"), rawModel("haiku", { provider: "anthropic" })] })
      )
      const live = registryLayer({ file }).pipe(
        Layer.provide(ModelStoreSql.layer),
        Layer.provide(Sqlite.layer(path.join(dir, "modelgate.db"))),
        Layer.provide(NodeContext.layer)
      )

      yield* Effect.gen(function* () {
        const registry = yield* ModelRegistry
        yield* registry.add(rawModel("llama3.1:8b", { provider: "ollama", fallbacks: ["gpt-4o-mini"] }))
        yield* registry.update("gpt-4o-mini", { qualityScore: 0.9 })
        yield* registry.update("gpt-4o-mini", { enabled: false })
      }).pipe(Effect.provide(live))

      // The file changes between runs: patches apply over the new file contents.
      yield* fs.writeFileString(
        file,
        JSON.stringify({ models: [rawModel("gpt-4o-mini", { displayName: "GPT-4o mini" }), rawModel("haiku", { provider: "anthropic" })] })
      )

      const after = yield* Effect.gen(function* () {
        const registry = yield* ModelRegistry
        return yield* registry.all
      }).pipe(Effect.provide(live))
      assert.deepStrictEqual(after.map((m): string => m.id), ["gpt-4o-mini", "haiku", "llama3.1:8b"])
      const mini = after[0]!
      assert.strictEqual(mini.qualityScore, 0.9)
      assert.isFalse(mini.enabled)
      assert.strictEqual(mini.displayName, "GPT-4o mini")
      assert.deepStrictEqual([...after[2]!.fallbacks], ["gpt-4o-mini"] as ReadonlyArray<string>)
    }).pipe(Effect.provide(NodeContext.layer)))
})
