/**
 * GatewayConfig: the running configuration, its reloads and its changes.
 *
 * `get` always returns the last valid configuration; `reload` decodes the files
 * again and either applies them (publishing `ConfigReloaded` when they changed
 * it) or fails with `ConfigError` and keeps the running configuration
 * (publishing `ConfigRejected`).
 *
 * Sources, later wins:
 * 1. the defaults of `GatewayConfigSchema` (the four default providers stay
 *    unless a file changes them);
 * 2. `<directory>/gateway.json` (a missing file means defaults);
 * 3. `<directory>/environments/<environment>.json`, deep-merged over it
 *    (objects merge key by key, anything else replaces);
 * 4. environment variables, one value each (read through `Config`):
 *    `PORT` -> `server.port`, `HOST` -> `server.host`,
 *    `MODELGATE_DB` -> `database.filename`, `MODELGATE_LOG_LEVEL` -> `logLevel`,
 *    `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` / `GEMINI_BASE_URL` ->
 *    `providers.{openai,anthropic,google}.baseUrl`,
 *    `OLLAMA_HOST` -> `providers.ollama.baseUrl`, read as Ollama reads it
 *    (`GatewayConfig/OllamaHost.ts`: `http://` and port 11434 when not named).
 *
 * `layerConfig` finds the directory in `MODELGATE_CONFIG_DIR` (default
 * `config`) and the environment in `MODELGATE_ENV` (no overlay when unset).
 */
import { FileSystem, Path } from "@effect/platform"
import type { ConfigError } from "@modelgate/domain/Errors"
import { ConfigRejected, ConfigReloaded } from "@modelgate/domain/Events"
import { Clock, Config, Context, Duration, Effect, Layer, Option, Schema, Stream, SubscriptionRef } from "effect"
import { Events } from "./Events.js"
import { directoryFromEnv } from "./GatewayConfig/Directory.js"
import { loadKeepingFiles, type Source } from "./GatewayConfig/Load.js"
import { startOnlyChanges, type StartOverride, startOnlyWarnings } from "./GatewayConfig/StartOnly.js"
import { watchDirectory } from "./GatewayConfig/Watch.js"
import { retryWatch } from "./internal/retryWatch.js"
import { defaultConfig, GatewayConfigData } from "./GatewayConfigSchema.js"

export { envOverrides, type Source } from "./GatewayConfig/Load.js"
export type { StartOverride } from "./GatewayConfig/StartOnly.js"
export { validate } from "./GatewayConfig/Validate.js"

/** The running gateway configuration. */
export class GatewayConfig extends Context.Tag("@modelgate/core/GatewayConfig")<
  GatewayConfig,
  {
    /** The configuration in force now. */
    readonly get: Effect.Effect<GatewayConfigData>
    /** The current configuration, then every applied change. */
    readonly changes: Stream.Stream<GatewayConfigData>
    /**
     * Read the files again; on failure the running configuration stays. When they decode to
     * the configuration in force, nothing is applied or published and that very value (`===`
     * what `get` gave) is returned.
     */
    readonly reload: Effect.Effect<GatewayConfigData, ConfigError>
  }
>() {}

/** How to build the live configuration. */
export interface MakeOptions {
  /** Decodes the configuration; run at start, by `reload` and on every watched change. */
  readonly load: Effect.Effect<GatewayConfigData, ConfigError>
  /** Names the source in `ConfigReloaded` events (e.g. the directory). */
  readonly source: string
  /**
   * Signals that the files may have changed (a watcher); each one reloads.
   * Kept alive as the built-in watchers are: a stream that fails or dies is
   * logged (naming `source`) and started again after 1 s, 2 s, ... (at most
   * 60 s apart), and the configuration is read again once a restarted stream
   * has lasted 100 ms. A stream that ends sends no more signals (reloads
   * then come from `reload` only).
   */
  readonly changed?: Stream.Stream<unknown, unknown> | undefined
  /**
   * The start-only settings something besides the files sets (`serve --port`: `server.port`): a reload
   * that changes one in the files is told what sets it, not to restart (`GatewayConfig/StartOnly.ts`).
   */
  readonly startOverrides?: ReadonlyArray<StartOverride> | undefined
}

const encode = Schema.encodeSync(GatewayConfigData)

/**
 * Build the service: load once (failing when invalid), then reload on demand and
 * on every `changed` signal, in a fiber of the current scope; `changed` is
 * restarted with backoff whenever it fails or dies (`retryWatch`).
 */
export const make = Effect.fn("GatewayConfig.make")(function* (options: MakeOptions) {
  const events = yield* Events
  const initial = yield* options.load
  const ref = yield* SubscriptionRef.make(initial)
  // What runs of the settings read at start only: a reload changing them says so (`GatewayConfig/StartOnly.ts`).
  const started = encode(initial)
  // The running configuration encoded (JSON), to compare a reload's with: set with `ref`, under `lock`.
  let runningJson = JSON.stringify(started)
  const lock = yield* Effect.makeSemaphore(1)

  const apply = () =>
    Effect.gen(function* () {
      const next = yield* options.load.pipe(
        Effect.tapError((error) =>
          Effect.gen(function* () {
            const at = yield* Clock.currentTimeMillis
            yield* Effect.logWarning(`configuration rejected, keeping the running one: ${error.message}`)
            yield* events.publish(ConfigRejected.make({ at, file: error.file, reason: error.detail }))
          })
        )
      )
      const previous = yield* SubscriptionRef.get(ref)
      const encoded = encode(next)
      const json = JSON.stringify(encoded)
      if (json === runningJson) return previous
      yield* Effect.uninterruptible(Effect.zipRight(SubscriptionRef.set(ref, next), Effect.sync(() => (runningJson = json))))
      yield* events.publish(ConfigReloaded.make({ at: yield* Clock.currentTimeMillis, source: options.source }))
      yield* Effect.logInfo(`configuration reloaded from ${options.source}`)
      const startOnly = startOnlyChanges(started, encoded)
      if (startOnly.length > 0) yield* Effect.forEach(startOnlyWarnings(startOnly, options.startOverrides), (w) => Effect.logWarning(w), { discard: true })
      return next
    }).pipe(lock.withPermits(1))

  if (options.changed !== undefined) {
    // A restart's `Restarted` signal reloads like a change: the files may have changed unseen. A stream that
    // ends was ended by its host (no more signals); the layer's own watch dies when its watcher closes.
    yield* retryWatch(options.source, Stream.concat(options.changed, Stream.never)).pipe(
      Stream.runForEach(() => Effect.ignore(apply())),
      Effect.catchAllCause((cause) => Effect.logWarning("configuration watcher stopped", cause)),
      Effect.forkScoped
    )
  }

  return GatewayConfig.of({
    get: SubscriptionRef.get(ref),
    changes: ref.changes,
    reload: apply().pipe(Effect.withSpan("GatewayConfig.reload"))
  })
})

/** Options of the live layer. */
export interface LayerOptions extends Source {
  /** Watch the directory and reload on changes (default true). */
  readonly watch?: boolean | undefined
  /** Quiet time after the last file event before reloading (default 250 ms). */
  readonly debounce?: Duration.DurationInput | undefined
  /** See `MakeOptions.startOverrides`. */
  readonly startOverrides?: ReadonlyArray<StartOverride> | undefined
}

/**
 * The live configuration read from `options.directory` through `FileSystem`,
 * watched (in the layer's scope) unless `watch: false`. Fails with
 * `ConfigError` when the configuration is invalid at start; a failed watch is
 * restarted on `watchBackoff` (by `make`). A reload rejects
 * a file that was there at the last load and is gone (`loadKeepingFiles`).
 */
export const layer = (
  options: LayerOptions
): Layer.Layer<GatewayConfig, ConfigError, FileSystem.FileSystem | Path.Path | Events> =>
  Layer.scoped(
    GatewayConfig,
    Effect.gen(function* () {
      const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
      const changed = options.watch === false
        ? undefined
        : watchDirectory(options.directory, options.debounce ?? Duration.millis(250)).pipe(Stream.provideContext(context))
      const load = yield* loadKeepingFiles(options)
      return yield* make({
        load: load.pipe(Effect.provide(context)),
        source: options.directory,
        changed,
        startOverrides: options.startOverrides
      })
    })
  )

/** `layer` with the directory (unless given) from `MODELGATE_CONFIG_DIR` (default `config`) and the environment (unless given) from `MODELGATE_ENV`. */
export const layerConfig = (
  options: Omit<LayerOptions, "directory" | "environment"> & {
    /** The directory, when given; else `MODELGATE_CONFIG_DIR`. */
    readonly directory?: string | undefined
    /** The overlay, when given; else `MODELGATE_ENV`. */
    readonly environment?: string | undefined
  } = {}
): Layer.Layer<GatewayConfig, ConfigError, FileSystem.FileSystem | Path.Path | Events> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      // Each falls back to its variable on its own.
      const directory = options.directory ?? (yield* directoryFromEnv())
      const environment = options.environment ?? Option.getOrUndefined(yield* Config.option(Config.string("MODELGATE_ENV")))
      return layer({ ...options, directory, environment })
    }).pipe(Effect.orDie)
  )

/** A fixed configuration (tests, embedding): `reload` returns the same value and changes nothing. */
export const layerStatic = (config: GatewayConfigData = defaultConfig): Layer.Layer<GatewayConfig> =>
  Layer.effect(
    GatewayConfig,
    Effect.gen(function* () {
      const ref = yield* SubscriptionRef.make(config)
      return GatewayConfig.of({
        get: SubscriptionRef.get(ref),
        changes: ref.changes,
        reload: SubscriptionRef.get(ref)
      })
    })
  )
