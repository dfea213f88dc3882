/**
 * ModelRegistry: every model the gateway knows, loaded from `config/models.json`
 * and the persisted overrides.
 *
 * Contract (implementation: foundation issue).
 *
 * Untraced (`get` and `resolve`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import { FileSystem, Path } from "@effect/platform"
import { type ConfigError, type InvalidModel, ModelNotFound, type StoreError } from "@modelgate/domain/Errors"
import { KnownProviders } from "@modelgate/domain/Ids"
import type { Capability, ModelMetadata, ModelPatch } from "@modelgate/domain/Model"
import { ConfigRejected, ConfigReloaded, type GatewayEvent } from "@modelgate/domain/Events"
import { Clock, Context, Duration, Effect, Either, Layer, Option, Ref, Stream, SubscriptionRef } from "effect"
import { firstError, readRequired } from "./ConfigFiles.js"
import { Events } from "./Events.js"
import { directoryFromEnv, fileIn } from "./GatewayConfig/Directory.js"
import { Restarted, retryWatch } from "./internal/retryWatch.js"
import { watchInPlace } from "./internal/watchInPlace.js"
import { checkModelsText, mergeOverrides, validateNew, validatePatch } from "./ModelRegistry/Validation.js"
import {
  AddedModel,
  layerMemory as storeLayerMemory,
  type ModelOverride,
  ModelStore,
  overrideId,
  UpdatedModel
} from "./ModelStore.js"

/** Query and change the model registry. */
export class ModelRegistry extends Context.Tag("@modelgate/core/ModelRegistry")<
  ModelRegistry,
  {
    /** The model with registry id `id`. */
    readonly get: (id: string) => Effect.Effect<ModelMetadata, ModelNotFound>
    /** A registry id, or `provider/providerModel` (e.g. `openai/gpt-4o-mini`). */
    readonly resolve: (name: string) => Effect.Effect<ModelMetadata, ModelNotFound>
    /** Every model, disabled ones included. */
    readonly all: Effect.Effect<ReadonlyArray<ModelMetadata>>
    /** The models with `enabled: true`. */
    readonly enabled: Effect.Effect<ReadonlyArray<ModelMetadata>>
    /** The models of provider `provider` (`openai`). */
    readonly byProvider: (provider: string) => Effect.Effect<ReadonlyArray<ModelMetadata>>
    /** Models having every one of `capabilities`. */
    readonly byCapabilities: (capabilities: ReadonlyArray<Capability>) => Effect.Effect<ReadonlyArray<ModelMetadata>>
    /** Models whose input and output price per 1M tokens lie within `[min, max]` (USD). */
    readonly byCostRange: (minUsdPerMillion: number, maxUsdPerMillion: number) => Effect.Effect<ReadonlyArray<ModelMetadata>>
    /** Decode `model` and add it, kept in the `ModelStore` (survives reloads and restarts). */
    readonly add: (model: unknown) => Effect.Effect<ModelMetadata, InvalidModel | StoreError>
    /** Apply `patch` to model `id` (the result decoded again), kept in the `ModelStore`. */
    readonly update: (id: string, patch: ModelPatch | unknown) => Effect.Effect<ModelMetadata, ModelNotFound | InvalidModel | StoreError>
    /** Reload the models file and the stored additions and updates (another instance on the database may have made some); on failure the running registry stays. */
    readonly reload: Effect.Effect<ReadonlyArray<ModelMetadata>, ConfigError>
    /**
     * Read the stored additions and updates again and apply them if another
     * instance sharing the database changed them (the file is not re-read);
     * whether the models changed. A store that cannot be read changes nothing
     * (logged).
     */
    readonly syncStored: Effect.Effect<boolean>
    /** The current list, then every change. */
    readonly changes: Stream.Stream<ReadonlyArray<ModelMetadata>>
  }
>() {}

/** How to build a registry. */
export interface MakeOptions {
  /** Loads the base models (the models file); run at start and by `reload`. */
  readonly load: Effect.Effect<ReadonlyArray<ModelMetadata>, ConfigError>
  /** Names the source in `ConfigReloaded` events (the models file); none are published without it. */
  readonly source?: string | undefined
  /** Provider ids a model may name (default: `KnownProviders` of the domain). */
  readonly knownProviders?: ReadonlyArray<string> | undefined
}

/**
 * Build a registry over `ModelStore`: the loaded models with the persisted
 * overrides applied. With `Events` in the context, a reload publishes
 * `ConfigRejected` (the file, the path and the reason) when the file is
 * invalid, and `ConfigReloaded` (with `source`) when it changed the models.
 */
export const make = Effect.fn("ModelRegistry.make")(function* (options: MakeOptions) {
  const store = yield* ModelStore
  const events = yield* Effect.serviceOption(Events)
  const known: ReadonlySet<string> = new Set(options.knownProviders ?? KnownProviders)
  const lock = yield* Effect.makeSemaphore(1)

  const overrides = yield* Ref.make(yield* store.list)
  const compose = Effect.fn("ModelRegistry.compose")(function* (base: ReadonlyArray<ModelMetadata>) {
    const merged = mergeOverrides(base, yield* Ref.get(overrides))
    yield* Effect.forEach(merged.warnings, (w) => Effect.logWarning(`model registry: ${w}`), { discard: true })
    return merged.models
  })
  const persist = (override: ModelOverride) =>
    Effect.zipRight(
      store.put(override),
      Ref.update(overrides, (all) => [...all.filter((o) => overrideId(o) !== overrideId(override)), override])
    )

  const initialBase = yield* options.load
  const base = yield* Ref.make(initialBase)
  const initialModels = yield* compose(initialBase)
  const models = yield* SubscriptionRef.make(initialModels)

  // A plain mirror of the current list and an index by id, for the request path (`get`, `resolve`,
  // `all`: one Effect op, no scan). Every change goes through `publish`, which updates the mirror
  // before subscribers of `changes` hear of it.
  let current: ReadonlyArray<ModelMetadata> = initialModels
  let byId = new Map<string, ModelMetadata>()
  const mirror = (list: ReadonlyArray<ModelMetadata>) => {
    const index = new Map<string, ModelMetadata>()
    for (const m of list) if (!index.has(m.id)) index.set(m.id, m) // the first of a duplicate id, as `find` did
    current = list
    byId = index
  }
  mirror(initialModels)
  const publish = (list: ReadonlyArray<ModelMetadata>) => Effect.zipRight(Effect.sync(() => mirror(list)), SubscriptionRef.set(models, list))

  const all = Effect.sync(() => current)
  const filtered = (predicate: (m: ModelMetadata) => boolean) => Effect.map(all, (ms) => ms.filter(predicate))

  const get = (id: string): Effect.Effect<ModelMetadata, ModelNotFound> =>
    Effect.suspend(() => {
      const found = byId.get(id)
      return found === undefined ? Effect.fail(new ModelNotFound({ modelId: id })) : Effect.succeed(found)
    })

  const resolve = (name: string): Effect.Effect<ModelMetadata, ModelNotFound> =>
    Effect.suspend(() => {
      const found = byId.get(name) ?? byProviderModel(name)
      return found === undefined ? Effect.fail(new ModelNotFound({ modelId: name })) : Effect.succeed(found)
    })

  /** `provider/providerModel`, if `name` is one and a model matches. */
  const byProviderModel = (name: string): ModelMetadata | undefined => {
    const slash = name.indexOf("/")
    if (slash <= 0) return undefined
    const provider = name.slice(0, slash)
    const providerModel = name.slice(slash + 1)
    return current.find((m) => m.provider === provider && m.providerModel === providerModel)
  }

  /** Replace the known overrides by the stored ones; whether they differ. A failed read keeps them (logged). */
  const rereadStored = store.list.pipe(
    Effect.flatMap((stored) =>
      Ref.modify(overrides, (known) => [JSON.stringify(stored) !== JSON.stringify(known), stored] as const)
    ),
    Effect.catchAll((e) =>
      Effect.as(Effect.logWarning(`model registry: could not read the added models again, keeping those known: ${e.message}`), false)
    )
  )

  /**
   * Apply what other instances stored since the last read (under `lock`); whether it changed the models. `add` and
   * `update` start with it, so an admin change builds on one another instance made before this one's periodic sync
   * (its patch is merged, not overwritten; a model it added is found) rather than on this instance's older view.
   */
  const applyStored = Effect.gen(function* () {
    if (!(yield* rereadStored)) return false
    yield* publish(yield* compose(yield* Ref.get(base)))
    yield* Effect.logInfo("model registry: applied the added or updated models another instance stored")
    return true
  })

  const add = Effect.fn("ModelRegistry.add")(function* (input: unknown) {
    yield* applyStored
    const current = yield* all
    const model = yield* validateNew(input, current, known)
    yield* persist(AddedModel.make({ model }))
    yield* publish([...current, model])
    yield* Effect.logInfo(`model registry: added ${model.id}`)
    return model
  }, lock.withPermits(1))

  const update = Effect.fn("ModelRegistry.update")(function* (id: string, input: unknown) {
    yield* applyStored
    const current = yield* all
    const existing = current.find((m) => m.id === id)
    if (existing === undefined) return yield* new ModelNotFound({ modelId: id })
    const { patch, model } = yield* validatePatch(existing, input, current, known)
    const inFile = (yield* Ref.get(base)).some((m) => m.id === id)
    const stored = yield* Ref.get(overrides)
    const previous = stored.find((o) => o._tag === "UpdatedModel" && o.id === id)
    const isAdded = stored.some((o) => o._tag === "AddedModel" && o.model.id === id)
    yield* persist(
      inFile && !isAdded
        ? UpdatedModel.make({ id: existing.id, patch: { ...(previous?._tag === "UpdatedModel" ? previous.patch : {}), ...patch } })
        : AddedModel.make({ model })
    )
    yield* publish(current.map((m) => (m.id === id ? model : m)))
    yield* Effect.logInfo(`model registry: updated ${id}`)
    return model
  }, lock.withPermits(1))

  const announce = (event: Effect.Effect<GatewayEvent>) =>
    Option.match(events, { onNone: () => Effect.void, onSome: (bus) => Effect.flatMap(event, bus.publish) })

  const syncStored = applyStored.pipe(lock.withPermits(1), Effect.withSpan("ModelRegistry.syncStored"))

  const reload = Effect.fn("ModelRegistry.reload")(function* () {
    const loaded = yield* options.load.pipe(
      Effect.tapError((e) =>
        Effect.zipRight(
          Effect.logWarning(`model registry: reload rejected, keeping the running registry: ${e.message}`),
          announce(Effect.map(Clock.currentTimeMillis, (at) => ConfigRejected.make({ at, file: e.file, reason: e.detail })))
        )
      )
    )
    // The added and updated models again too: another gateway instance on the same database may have changed them.
    yield* rereadStored
    const next = yield* compose(loaded)
    const changed = JSON.stringify(loaded) !== JSON.stringify(yield* Ref.get(base))
    yield* Ref.set(base, loaded)
    yield* publish(next)
    const source = options.source
    if (changed && source !== undefined) yield* announce(Effect.map(Clock.currentTimeMillis, (at) => ConfigReloaded.make({ at, source })))
    return next
  }, lock.withPermits(1))

  return ModelRegistry.of({
    get,
    resolve,
    all,
    enabled: filtered((m) => m.enabled),
    byProvider: (provider) => filtered((m) => m.provider === provider),
    byCapabilities: (capabilities) => filtered((m) => capabilities.every((c) => m.capabilities.includes(c))),
    byCostRange: (min, max) =>
      filtered((m) => [m.pricing.inputPerMillion, m.pricing.outputPerMillion].every((p) => p >= min && p <= max)),
    add,
    update,
    reload: reload(),
    syncStored,
    changes: models.changes
  })
})

/** Read and validate a models file: every model, or a `ConfigError` naming the file, the path and the reason. */
export const loadFile = (
  file: string,
  knownProviders: ReadonlyArray<string> = KnownProviders
): Effect.Effect<ReadonlyArray<ModelMetadata>, ConfigError, FileSystem.FileSystem> =>
  Effect.flatMap(readRequired(file), (text) =>
    Either.match(checkModelsText(file, text, new Set(knownProviders)), {
      onLeft: (errors) => Effect.fail(firstError(errors, file)),
      onRight: Effect.succeed
    })
  )

/** Options of the live registry. */
export interface LayerOptions {
  /** The models file (default `config/models.json`, relative to the working directory). */
  readonly file?: string | undefined
  /** Provider ids a model may name (default: `KnownProviders` of the domain). */
  readonly knownProviders?: ReadonlyArray<string> | undefined
  /**
   * Reload when the file changes (default false); a bad file is logged (and `ConfigRejected` published) and the running
   * registry stays. A failed watch (or one whose directory was replaced: moved away or deleted and a new one put at its
   * path) is logged and restarted with backoff (1 s doubling to 60 s), then the file is re-read.
   */
  readonly watch?: boolean | undefined
  /** Quiet time after the last file event before reloading (default 250 ms). */
  readonly debounce?: Duration.DurationInput | undefined
  /**
   * Apply what other instances sharing the database stored (`syncStored`) this
   * often (default: never; GatewayLive sets `database.syncIntervalMs`).
   */
  readonly syncStoredEvery?: Duration.DurationInput | undefined
}

/**
 * The live registry: the models file read through `FileSystem`, with the
 * overrides of `ModelStore` applied. Fails with `ConfigError` when the file is
 * invalid (nothing is loaded); `StoreError` when the store cannot be read.
 * With `watch`, a fiber in the layer's scope reloads on file changes. Uses
 * `Events`, when the context has it, to announce reloads (see `make`).
 */
export const layer = (
  options: LayerOptions = {}
): Layer.Layer<ModelRegistry, ConfigError | StoreError, FileSystem.FileSystem | Path.Path | ModelStore> =>
  Layer.scoped(
    ModelRegistry,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const file = options.file ?? "config/models.json"
      const load = loadFile(file, options.knownProviders).pipe(Effect.provideService(FileSystem.FileSystem, fs))
      const registry = yield* make({ load, knownProviders: options.knownProviders, source: file })
      if (options.watch === true) {
        const name = path.basename(file)
        const directory = path.dirname(path.resolve(file))
        // A failed watch is restarted with backoff (`watchBackoff`); `Restarted` reloads once, like a change. So is
        // one whose directory was replaced (`watchInPlace`): it would watch the old one for good.
        yield* retryWatch(directory, watchInPlace(fs, directory)).pipe(
          // The file by name (an in-place write or a replacement by rename, re-read by name each time), or
          // `..data` and the like: a Kubernetes ConfigMap swaps a `..data` symlink, the file's name never changes.
          Stream.filter((event) =>
            event === Restarted || path.basename(event.path) === name || path.basename(event.path).startsWith("..")
          ),
          Stream.debounce(options.debounce ?? Duration.millis(250)),
          Stream.runForEach(() => Effect.ignore(registry.reload)),
          Effect.catchAllCause((cause) => Effect.logWarning("models file watcher stopped", cause)),
          Effect.forkScoped
        )
      }
      if (options.syncStoredEvery !== undefined) {
        yield* Effect.sleep(options.syncStoredEvery).pipe(Effect.zipRight(registry.syncStored), Effect.forever, Effect.forkScoped)
      }
      return registry
    })
  )

/** `layer` on `<MODELGATE_CONFIG_DIR>/models.json` (default `config/models.json`). */
export const layerConfig = (
  options: Omit<LayerOptions, "file"> = {}
): Layer.Layer<ModelRegistry, ConfigError | StoreError, FileSystem.FileSystem | Path.Path | ModelStore> =>
  Layer.unwrapEffect(
    Effect.map(Effect.orDie(directoryFromEnv()), (dir) => layer({ ...options, file: fileIn(dir, "models.json") })
    )
  )

/**
 * An in-memory registry of `models` (tests): no file, `add` / `update` validated
 * but not persisted, `reload` keeps the changes made. Providers of `models`
 * count as known, besides `KnownProviders`.
 */
export const layerMemory = (
  models: ReadonlyArray<ModelMetadata>,
  options: { readonly knownProviders?: ReadonlyArray<string> } = {}
): Layer.Layer<ModelRegistry> =>
  Layer.effect(
    ModelRegistry,
    make({
      load: Effect.succeed(models),
      knownProviders: [...(options.knownProviders ?? KnownProviders), ...models.map((m) => m.provider)]
    })
  ).pipe(Layer.provide(storeLayerMemory), Layer.orDie)
