/**
 * A live `ModelRegistry` (its `make`: reloads publish as from the models
 * file) whose "file" the test sets: `apply` writes the next list of models and
 * reloads, as an edit of `models.json` then `POST /admin/reload` would.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Context, Effect, Layer, Ref } from "effect"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as ModelStore from "../src/ModelStore.js"

/** Sets the models the next reload reads, and reloads. */
export class ModelsFile extends Context.Tag("test/ModelsFile")<
  ModelsFile,
  { readonly apply: (next: ReadonlyArray<ModelMetadata>) => Effect.Effect<ReadonlyArray<ModelMetadata>, unknown> }
>() {}

/** `ModelRegistry` starting with `initial`, and `ModelsFile` to change it. */
export const layerReloadableModels = (
  initial: ReadonlyArray<ModelMetadata>
): Layer.Layer<ModelRegistry.ModelRegistry | ModelsFile> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const file = yield* Ref.make(initial)
      const registry = yield* ModelRegistry.make({ load: Ref.get(file) })
      return Context.make(ModelRegistry.ModelRegistry, registry).pipe(
        Context.add(ModelsFile, { apply: (next) => Effect.zipRight(Ref.set(file, next), registry.reload) })
      )
    })
  ).pipe(Layer.provide(ModelStore.layerMemory), Layer.orDie)
