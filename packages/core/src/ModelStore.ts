/**
 * ModelStore: the persisted registry overrides (models added at run time, and
 * patches to models of `config/models.json`). A memory version lives here; the
 * SQL version is `@modelgate/sql/ModelStoreSql`.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { ModelId } from "@modelgate/domain/Ids"
import { ModelMetadata, ModelPatch } from "@modelgate/domain/Model"
import { Context, Effect, Layer, Ref, Schema } from "effect"

/** A model added at run time (the whole model). */
export class AddedModel extends Schema.TaggedClass<AddedModel>()("AddedModel", {
  model: ModelMetadata
}) {}

/** A patch to a model of the models file (every update of that id, merged). */
export class UpdatedModel extends Schema.TaggedClass<UpdatedModel>()("UpdatedModel", {
  id: ModelId,
  patch: ModelPatch
}) {}

/** One persisted override; at most one per model id. */
export const ModelOverride = Schema.Union(AddedModel, UpdatedModel)
export type ModelOverride = typeof ModelOverride.Type

/** The model id an override applies to. */
export const overrideId = (override: ModelOverride): string =>
  override._tag === "AddedModel" ? override.model.id : override.id

/** Where registry overrides are kept. */
export class ModelStore extends Context.Tag("@modelgate/core/ModelStore")<
  ModelStore,
  {
    /** Every override, in the order they were first written. */
    readonly list: Effect.Effect<ReadonlyArray<ModelOverride>, StoreError>
    /** Insert or replace the override of its model id. */
    readonly put: (override: ModelOverride) => Effect.Effect<void, StoreError>
    /** Drop the override of `id` (no-op when absent). */
    readonly remove: (id: string) => Effect.Effect<void, StoreError>
  }
>() {}

/** An in-memory store (tests; a gateway without persistence). */
export const makeMemory = (initial: ReadonlyArray<ModelOverride> = []) =>
  Effect.gen(function* () {
    const ref = yield* Ref.make<ReadonlyArray<ModelOverride>>(initial)
    return ModelStore.of({
      list: Ref.get(ref),
      put: (override) =>
        Ref.update(ref, (all) => {
          const id = overrideId(override)
          const index = all.findIndex((o) => overrideId(o) === id)
          return index < 0 ? [...all, override] : all.map((o, i) => (i === index ? override : o))
        }),
      remove: (id) => Ref.update(ref, (all) => all.filter((o) => overrideId(o) !== id))
    })
  })

/** The in-memory store as a layer. */
export const layerMemory: Layer.Layer<ModelStore> = Layer.effect(ModelStore, makeMemory())
