import { FileSystem, Path } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { SqliteMigrator } from "@effect/sql-sqlite-node"
import { assert, describe, layer } from "@effect/vitest"
import { ModelRegistry, layer as registryLayer } from "@modelgate/core/ModelRegistry"
import { AddedModel, ModelStore, overrideId, UpdatedModel } from "@modelgate/core/ModelStore"
import { ModelMetadata, ModelPatch } from "@modelgate/domain/Model"
import { loader } from "@modelgate/sql/Migrations"
import * as ModelStoreSql from "@modelgate/sql/ModelStoreSql"
import { Arbitrary, Effect, FastCheck, Layer, Runtime, Schema } from "effect"
import { databases, servers, sqlite } from "./databases.js"

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

/** `check` holds for 100 values of `arbitrary`, run one after another on this test's services. */
const forAll = <A, E>(arbitrary: FastCheck.Arbitrary<A>, check: (a: A) => Effect.Effect<void, E>) =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.promise(() =>
      FastCheck.assert(FastCheck.asyncProperty(arbitrary, (a) => Runtime.runPromise(runtime, check(a))), { numRuns: 100 })
    )
  )

layer(servers, { timeout: 60_000 })("ModelStoreSql", (it) => {
  for (const database of databases) {
    const Store = ModelStoreSql.layer.pipe(Layer.provideMerge(database.layer))

    describe(`on ${database.name}`, () => {
      it.effect("round-trips every model through SQL", () =>
        Effect.gen(function* () {
          const store = yield* ModelStore
          yield* forAll(Arbitrary.make(ModelMetadata), (model) =>
            Effect.gen(function* () {
              yield* store.put(AddedModel.make({ model }))
              const found = (yield* store.list).find((o) => o._tag === "AddedModel" && o.model.id === model.id)
              assert.isDefined(found)
              assert.strictEqual(found?._tag === "AddedModel" ? encoded(found.model) : "", encoded(model))
              yield* store.remove(model.id)
              assert.isFalse((yield* store.list).some((o) => o._tag === "AddedModel" && o.model.id === model.id))
            }))
        }).pipe(Effect.provide(Store)))

      it.effect("round-trips every patch through SQL", () =>
        Effect.gen(function* () {
          const store = yield* ModelStore
          yield* forAll(Arbitrary.make(ModelPatch), (patch) =>
            Effect.gen(function* () {
              const override = UpdatedModel.make({ id: ModelMetadata.fields.id.make("patched"), patch })
              yield* store.put(override)
              const found = (yield* store.list).find((o) => o._tag === "UpdatedModel" && o.id === "patched")
              assert.strictEqual(
                found?._tag === "UpdatedModel" ? JSON.stringify(Schema.encodeSync(ModelPatch)(found.patch)) : "",
                JSON.stringify(Schema.encodeSync(ModelPatch)(patch))
              )
            }))
        }).pipe(Effect.provide(Store)))

      it.effect("keeps one row per model id, in first-written order", () =>
        Effect.gen(function* () {
          const store = yield* ModelStore
          const a = Schema.decodeUnknownSync(ModelMetadata)(rawModel("a"))
          const b = Schema.decodeUnknownSync(ModelMetadata)(rawModel("b"))
          yield* store.put(AddedModel.make({ model: a }))
          yield* store.put(AddedModel.make({ model: b }))
          yield* store.put(AddedModel.make({ model: ModelMetadata.make({ ...a, displayName: "A2" }) }))
          const list = yield* store.list
          assert.deepStrictEqual(list.map((o) => (o._tag === "AddedModel" ? o.model.displayName : "")), ["A2", "b"])
        }).pipe(Effect.provide(Store)))

      it.effect("an update of an added model keeps its place: overrides stay in first-added order", () =>
        Effect.gen(function* () {
          const store = yield* ModelStore
          const id = ModelMetadata.fields.id.make
          yield* store.put(UpdatedModel.make({ id: id("z"), patch: { qualityScore: 0.1 } }))
          yield* store.put(AddedModel.make({ model: Schema.decodeUnknownSync(ModelMetadata)(rawModel("a")) }))
          yield* store.put(AddedModel.make({ model: Schema.decodeUnknownSync(ModelMetadata)(rawModel("b")) }))
          yield* store.put(UpdatedModel.make({ id: id("a"), patch: { qualityScore: 0.9 } }))
          yield* store.put(UpdatedModel.make({ id: id("z"), patch: { qualityScore: 0.2 } }))
          const list = yield* store.list
          assert.deepStrictEqual(list.map((o) => [overrideId(o), o._tag]), [["z", "UpdatedModel"], ["a", "UpdatedModel"], ["b", "AddedModel"]])
        }).pipe(Effect.provide(Store)))

      it.effect("fails with StoreError on a row that does not decode", () =>
        Effect.gen(function* () {
          const store = yield* ModelStore
          const sql = yield* SqlClient.SqlClient
          yield* sql`INSERT INTO model_overrides (id, kind, body, updated_at) VALUES ('bad', 'add', '{"id":"bad"}', 0)`
          const error = yield* Effect.flip(store.list)
          assert.strictEqual(error._tag, "StoreError")
        }).pipe(Effect.provide(Store)))

      it.scoped("ModelRegistry: added and updated models survive a restart", () =>
        Effect.gen(function* () {
          const fs = yield* FileSystem.FileSystem
          const path = yield* Path.Path
          const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-registry-" })
          const db = yield* database.create
          const file = path.join(dir, "models.json")
          yield* fs.writeFileString(
            file,
            JSON.stringify({ models: [rawModel("gpt-4o-mini"), rawModel("haiku", { provider: "anthropic" })] })
          )
          const live = registryLayer({ file }).pipe(
            Layer.provide(ModelStoreSql.layer),
            Layer.provide(db),
            Layer.orDie
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
        }))
    })
  }

  it.effect("on SQLite: migrations are idempotent: a second run applies nothing and keeps the data", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT OR REPLACE INTO model_overrides (id, kind, body, updated_at) VALUES ('keep', 'update', '{}', 0)`
      const again = yield* SqliteMigrator.run({ loader })
      assert.deepStrictEqual(again, [])
      const rows = yield* sql<{ id: string }>`SELECT id FROM model_overrides WHERE id = 'keep'`
      assert.strictEqual(rows.length, 1)
      const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'model_overrides'`
      assert.strictEqual(tables.length, 1)
    }).pipe(Effect.provide(Layer.orDie(sqlite.layer))))
})
