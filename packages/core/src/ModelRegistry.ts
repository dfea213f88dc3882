/**
 * ModelRegistry: every model the gateway knows, loaded from `config/models.json`
 * and the persisted overrides.
 *
 * Contract (implementation: foundation issue).
 */
import type { ConfigError, InvalidModel, ModelNotFound, StoreError } from "@modelgate/domain/Errors"
import type { Capability, ModelMetadata, ModelPatch } from "@modelgate/domain/Model"
import { Context, type Effect, type Stream } from "effect"

/** Query and change the model registry. */
export class ModelRegistry extends Context.Tag("@modelgate/core/ModelRegistry")<
  ModelRegistry,
  {
    readonly get: (id: string) => Effect.Effect<ModelMetadata, ModelNotFound>
    /** A registry id, or `provider/providerModel` (e.g. `openai/gpt-4o-mini`). */
    readonly resolve: (name: string) => Effect.Effect<ModelMetadata, ModelNotFound>
    readonly all: Effect.Effect<ReadonlyArray<ModelMetadata>>
    readonly enabled: Effect.Effect<ReadonlyArray<ModelMetadata>>
    readonly byProvider: (provider: string) => Effect.Effect<ReadonlyArray<ModelMetadata>>
    /** Models having every one of `capabilities`. */
    readonly byCapabilities: (capabilities: ReadonlyArray<Capability>) => Effect.Effect<ReadonlyArray<ModelMetadata>>
    /** Models whose input and output price per 1M tokens lie within `[min, max]` (USD). */
    readonly byCostRange: (minUsdPerMillion: number, maxUsdPerMillion: number) => Effect.Effect<ReadonlyArray<ModelMetadata>>
    readonly add: (model: unknown) => Effect.Effect<ModelMetadata, InvalidModel | StoreError>
    readonly update: (id: string, patch: ModelPatch | unknown) => Effect.Effect<ModelMetadata, ModelNotFound | InvalidModel | StoreError>
    /** Reload the models file; on failure the running registry stays. */
    readonly reload: Effect.Effect<ReadonlyArray<ModelMetadata>, ConfigError>
    /** The current list, then every change. */
    readonly changes: Stream.Stream<ReadonlyArray<ModelMetadata>>
  }
>() {}
