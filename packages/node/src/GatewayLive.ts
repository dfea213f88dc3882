/**
 * GatewayLive: every live layer of modelgate assembled on Node — the config
 * files (watched), the SQLite store (or PostgreSQL: `MODELGATE_DATABASE_URL`,
 * `Database.ts`), the four adapters on the undici HTTP
 * client, and all core services — ready to compose. Any layer can be swapped:
 * build your own with `layerWith({ providers: myProvidersLayer })`, and the
 * same for the configuration, the model registry, the HTTP client, the
 * accounting stores, the cache store, the rate limiter's stores, the
 * added-models store, the health marks and the event log, the event bus, the
 * API keys and each subsystem service (rate limiter, cost tracker, health
 * checker, performance monitor, response cache, evaluator, selector,
 * failover) up to the gateway itself.
 */
import * as ApiKeys from "@modelgate/core/ApiKeys"
import * as CostTracker from "@modelgate/core/CostTracker"
import { warnUnknownBudgetModels } from "@modelgate/core/CostTracker/UnknownModels"
import * as Events from "@modelgate/core/Events"
import * as EventsSync from "@modelgate/core/Events/Sync"
import * as Failover from "@modelgate/core/Failover"
import * as Gateway from "@modelgate/core/Gateway"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { fileIn } from "@modelgate/core/GatewayConfig/Directory"
import * as HealthChecker from "@modelgate/core/HealthChecker"
import * as InstanceId from "@modelgate/core/InstanceId"
import * as ModelRegistry from "@modelgate/core/ModelRegistry"
import * as ModelSelector from "@modelgate/core/ModelSelector"
import * as PerformanceMonitor from "@modelgate/core/PerformanceMonitor"
import { Providers } from "@modelgate/core/Provider"
import * as RateLimiter from "@modelgate/core/RateLimiter"
import * as ResponseCache from "@modelgate/core/ResponseCache"
import * as ResponseEvaluator from "@modelgate/core/ResponseEvaluator"
import type { CacheStore } from "@modelgate/core/CacheStore"
import type { CostStore } from "@modelgate/core/CostStore"
import type { Metrics } from "@modelgate/core/Metrics"
import type { MetricsStore } from "@modelgate/core/MetricsStore"
import type { ModelStore } from "@modelgate/core/ModelStore"
import type { PerformanceDetails } from "@modelgate/core/PerformanceMonitor"
import type { CacheControl } from "@modelgate/core/ResponseCache"
import type { LimiterStore } from "@modelgate/core/RateLimiter/LimiterStore"
import { layerMemory as limiterStoreMemory } from "@modelgate/core/RateLimiter/LimiterStore"
import type { RecordSink } from "@modelgate/core/RecordSink"
import type { RecordStore } from "@modelgate/core/RecordStore"
import type { RecordWriter } from "@modelgate/core/RecordWriter"
import type { EventLogStore } from "@modelgate/core/EventLogStore"
import type { HealthMarkStore } from "@modelgate/core/HealthMarkStore"
import type { LimiterUsageStore } from "@modelgate/core/LimiterUsageStore"
import * as CacheStoreSql from "@modelgate/sql/CacheStoreSql"
import * as EventLogStoreSql from "@modelgate/sql/EventLogStoreSql"
import * as HealthMarkStoreSql from "@modelgate/sql/HealthMarkStoreSql"
import * as LimiterUsageStoreSql from "@modelgate/sql/LimiterUsageStoreSql"
import * as ModelStoreSql from "@modelgate/sql/ModelStoreSql"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import type { ConfigError, StoreError } from "@modelgate/domain/Errors"
import type { SqlClient } from "@effect/sql"
import type { HttpClient } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Layer, Option } from "effect"
import * as Database from "./Database.js"
import * as HttpClientLive from "./HttpClientLive.js"
import * as ProvidersLive from "./ProvidersLive.js"

/** The services of the accounting stack: records written in batches, and the costs and metrics read from them. */
export type AccountingServices = RecordSink | RecordWriter | Metrics | MetricsStore | CostStore | RecordStore

/** What a replacement layer given to `layerWith` may use: the SQL client, `Events` and `GatewayConfig`. */
export type ReplacementNeeds = SqlClient.SqlClient | Events.Events | GatewayConfig.GatewayConfig

/**
 * Where the gateway reads its files, and the layers to put in place of the
 * live ones. A replacement may use the SQL client (always built, on
 * `database.filename` or `MODELGATE_DATABASE_URL`), `Events` and `GatewayConfig`
 * (the `events` one only the live bus). Each is built once, in place of the
 * live one (whose own stores are then not built). Pass one layer value
 * and also merge it beside the result to reach its extra services (e.g. a
 * memory store's `MemoryRecordStore`): one build builds a layer value once.
 */
export interface GatewayLiveOptions {
  /** The config directory (gateway.json, models.json, environments/). Default: `MODELGATE_CONFIG_DIR` or `config`. */
  readonly configDirectory?: string | undefined
  /** The overlay `environments/<name>.json`. Default: `MODELGATE_ENV`. */
  readonly environment?: string | undefined
  /** A SQLite file to use instead of `database.filename` (also `MODELGATE_DB`) and of `MODELGATE_DATABASE_URL`. */
  readonly databaseFile?: string | undefined
  /** The database to use (SQLite file or PostgreSQL URL), instead of the config's and the environment's. */
  readonly database?: Database.DatabaseTarget | undefined
  /** Watch the config directory and reload on changes (default true). */
  readonly watch?: boolean | undefined
  /**
   * The start-only settings set besides the files (`serve --port`: `server.port`), named by a reload that
   * changes them in the files (`GatewayConfig.MakeOptions`); `database.filename` is added when
   * `database`, `databaseFile` or `MODELGATE_DATABASE_URL` puts the data elsewhere.
   */
  readonly startOverrides?: ReadonlyArray<GatewayConfig.StartOverride> | undefined
  /**
   * Replace the configuration read from the directory (e.g. with
   * `GatewayConfig.layerStatic(data)`): `configDirectory`'s gateway.json and
   * `environment` are then not read. It may use `Events`.
   */
  readonly config?: Layer.Layer<GatewayConfig.GatewayConfig, ConfigError, Events.Events> | undefined
  /**
   * Replace the model registry read from `models.json` (e.g. with
   * `ModelRegistry.layerMemory(models)`); besides `ReplacementNeeds` it may
   * use the added-models store (`modelStore`).
   */
  readonly registry?: Layer.Layer<ModelRegistry.ModelRegistry, ConfigError | StoreError, ReplacementNeeds | ModelStore> | undefined
  /** Replace the provider adapters (e.g. with testkit doubles); besides `ReplacementNeeds` it may use the HTTP client. */
  readonly providers?: Layer.Layer<Providers, never, ReplacementNeeds | HttpClient.HttpClient> | undefined
  /**
   * Replace the HTTP client under the adapters (default: undici,
   * `HttpClientLive.layer`, which fails with a `ConfigError` on a malformed
   * `HTTPS_PROXY` / `HTTP_PROXY`).
   */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient, ConfigError, ReplacementNeeds> | undefined
  /**
   * Replace the accounting stack: where records go and where costs, budgets
   * and metrics are read from (default: SQL, `RecordStoreSql.layerAccounting`;
   * in memory: `@modelgate/core/RecordWriter/Memory`'s `layerMemory`).
   */
  readonly accounting?: Layer.Layer<AccountingServices, never, ReplacementNeeds> | undefined
  /** Replace the response cache's store (default: SQL, `CacheStoreSql.layer`). */
  readonly cacheStore?: Layer.Layer<CacheStore, never, ReplacementNeeds> | undefined
  /** Replace where the rate limiter keeps its windows (default: in process, `LimiterStore.layerMemory`). */
  readonly limiterStore?: Layer.Layer<LimiterStore, never, ReplacementNeeds> | undefined
  /**
   * Replace where instances on one database share their rate-limit window
   * counts and provider blocks (default: SQL, `LimiterUsageStoreSql.layer`; synced every
   * `rateLimits.syncIntervalMs`, 1 s by default on PostgreSQL, off on SQLite).
   */
  readonly limiterUsageStore?: Layer.Layer<LimiterUsageStore, never, ReplacementNeeds> | undefined
  /**
   * Replace where instances on one database share the models they find
   * unavailable (default: SQL, `HealthMarkStoreSql.layer`; synced every
   * `healthCheck.syncIntervalMs`, 1 s by default on PostgreSQL, off on SQLite).
   */
  readonly healthMarkStore?: Layer.Layer<HealthMarkStore, never, ReplacementNeeds> | undefined
  /**
   * Replace where instances on one database share their events, so that every
   * instance's subscribers see all of them (default: SQL, `EventLogStoreSql.layer`;
   * synced every `events.syncIntervalMs`, 1 s by default on PostgreSQL, off on SQLite).
   */
  readonly eventLogStore?: Layer.Layer<EventLogStore, never, ReplacementNeeds> | undefined
  /** Replace where models added through the admin API are kept (default: SQL, `ModelStoreSql.layer`). */
  readonly modelStore?: Layer.Layer<ModelStore, never, ReplacementNeeds> | undefined
  /**
   * Replace the event bus every service publishes to and `Events.subscribe`
   * reads (e.g. one that captures). Built below the configuration, it may use
   * only the live bus (`Events.layer`), e.g. to forward to it: the events it
   * forwards still reach the other instances on the database (`eventLogStore`).
   */
  readonly events?: Layer.Layer<Events.Events, never, Events.Events> | undefined
  /** Replace the provider API keys read from the environment and `.env` (e.g. with `ApiKeys.layerStatic(keys)`). */
  readonly apiKeys?: Layer.Layer<ApiKeys.ApiKeys, never, ReplacementNeeds> | undefined
  /** Replace the cost tracker (budgets, spend); the `accounting` stack is still built for records and metrics. */
  readonly costTracker?: Layer.Layer<CostTracker.CostTracker, never, ReplacementNeeds> | undefined
  /** Replace the rate limiter (then `limiterStore` and `limiterUsageStore` are not used). */
  readonly rateLimiter?: Layer.Layer<RateLimiter.RateLimiter, never, ReplacementNeeds> | undefined
  /** Replace the performance monitor and its details (e.g. over `PerformanceMonitor.layerStatic`'s table). */
  readonly performanceMonitor?: Layer.Layer<PerformanceMonitor.PerformanceMonitor | PerformanceDetails, never, ReplacementNeeds> | undefined
  /** Replace the response evaluator (e.g. with `ResponseEvaluator.layerDisabled`). */
  readonly responseEvaluator?: Layer.Layer<ResponseEvaluator.ResponseEvaluator, never, ReplacementNeeds> | undefined
  /** Replace the response cache and its control (e.g. with `ResponseCache.layerMemory`; then `cacheStore` is not used). */
  readonly responseCache?: Layer.Layer<ResponseCache.ResponseCache | CacheControl, never, ReplacementNeeds> | undefined
  /** Replace the health checker (then `healthMarkStore` is not used). */
  readonly healthChecker?: Layer.Layer<HealthChecker.HealthChecker, never, ReplacementNeeds> | undefined
  /** Replace the model selector (which model `auto` and each fallback step picks). */
  readonly modelSelector?: Layer.Layer<ModelSelector.ModelSelector, never, ReplacementNeeds> | undefined
  /** Replace the failover (what happens after a model fails). */
  readonly failover?: Layer.Layer<Failover.Failover, never, ReplacementNeeds> | undefined
  /** Replace the gateway's request path itself (e.g. a double behind the HTTP server). */
  readonly gateway?: Layer.Layer<Gateway.Gateway, never, ReplacementNeeds> | undefined
}

/**
 * How often instances on PostgreSQL share their rate-limit windows, the
 * models they find unavailable and their events, when
 * `rateLimits.syncIntervalMs` / `healthCheck.syncIntervalMs` /
 * `events.syncIntervalMs` are unset.
 */
export const fastSyncDefaultMs = 1_000

/** `database.filename` when something else names the database (a malformed URL fails later, where the database opens). */
const databaseOverride = (options: GatewayLiveOptions): Effect.Effect<ReadonlyArray<GatewayConfig.StartOverride>> => {
  const by = (setter: string) => [{ field: "database.filename", by: setter }]
  if (options.database !== undefined) return Effect.succeed(by("the database option"))
  if (options.databaseFile !== undefined) return Effect.succeed(by("the databaseFile option"))
  return Database.urlFromEnv.pipe(
    Effect.map(Option.match({ onNone: () => [], onSome: () => by(Database.urlVariable) })),
    Effect.orElseSucceed(() => [])
  )
}

/** `replacement` when given, else `live`: one layer type for both, to compose further. */
const orLive = <A, E, R, E2, R2>(replacement: Layer.Layer<A, E, R> | undefined, live: Layer.Layer<A, E2, R2>): Layer.Layer<A, E | E2, R | R2> =>
  replacement ?? live

/**
 * The layer graph, bottom to top: Events, GatewayConfig -> SQLite or
 * PostgreSQL -> records, costs, metrics -> registry, keys, adapters ->
 * limiter, health, monitor,
 * evaluator, cache -> selector, failover -> Gateway. Each layer sees every
 * layer below it, so optional services (CostTracker for the selector, ApiKeys
 * for failover) are found; a replacement given in `options` takes its live
 * layer's place there. It needs nothing; building it fails with
 * `ConfigError` (a config or models file that does not decode) or
 * `StoreError` (the database cannot be opened or migrated, a SQLite file
 * cannot be written, or the added models cannot be read).
 */
export const layerWith = (options: GatewayLiveOptions = {}) => {
  const directory = options.configDirectory
  // A replacement bus is given the live one (built once: its relay still serves the sync between instances), and wins over it.
  const events = options.events === undefined ? Events.layer : options.events.pipe(Layer.provideMerge(Events.layer))
  // The directory and the overlay each fall back to their variable (MODELGATE_CONFIG_DIR, MODELGATE_ENV) on their own.
  const config = (options.config ?? Layer.unwrapEffect(Effect.map(databaseOverride(options), (database) =>
    GatewayConfig.layerConfig({
      directory,
      environment: options.environment,
      watch: options.watch,
      startOverrides: [...(options.startOverrides ?? []), ...database]
    })
  ))).pipe(Layer.provideMerge(events))

  // An explicit database wins; then an explicit SQLite file; then MODELGATE_DATABASE_URL; then `database.filename`.
  const target = Effect.gen(function* () {
    const data = yield* (yield* GatewayConfig.GatewayConfig).get
    const target: Database.DatabaseTarget = options.database ??
      (options.databaseFile !== undefined
        ? { _tag: "Sqlite", filename: options.databaseFile }
        : Database.target(data.database.filename, yield* Database.urlFromEnv))
    // Where instances share the database (PostgreSQL; a read never blocks the event loop), budgets and the cache
    // read what the others wrote every `database.syncIntervalMs`; on SQLite budgets only if `budgets.syncIntervalMs` says so.
    const sharedSyncMs = target._tag === "Postgres" && data.database.syncIntervalMs > 0 ? data.database.syncIntervalMs : undefined
    // Rate limits are per minute, and a failing provider costs each request that tries it: on PostgreSQL the
    // limiter's windows, the models found unavailable and the events are shared every second
    // (`rateLimits` / `healthCheck` / `events.syncIntervalMs`).
    const fastSyncMs = target._tag === "Postgres" ? fastSyncDefaultMs : undefined
    return { data, target, sharedSyncMs, fastSyncMs }
  })
  const database = Layer.unwrapEffect(
    Effect.map(target, ({ target }) =>
      Database.layer(target, { requireWrites: true }).pipe(Layer.tap(() => Effect.logInfo(`database: ${Database.describe(target)}`)))
    )
  )

  // What other instances on the database stored is applied every `database.syncIntervalMs` (read at start).
  const fileRegistry = Layer.unwrapEffect(
    Effect.map(Effect.flatMap(GatewayConfig.GatewayConfig, (c) => c.get), (data) => {
      const shared = {
        watch: options.watch ?? true,
        syncStoredEvery: data.database.syncIntervalMs > 0 ? Duration.millis(data.database.syncIntervalMs) : undefined
      }
      return directory === undefined
        ? ModelRegistry.layerConfig(shared)
        : ModelRegistry.layer({ ...shared, file: fileIn(directory, "models.json") })
    })
  )
  const modelStore = options.modelStore ?? ModelStoreSql.layer
  const registry = options.registry === undefined
    ? Layer.provide(fileRegistry, modelStore)
    : Layer.provide(options.registry, modelStore)

  const accounting = orLive(options.costTracker, Layer.unwrapEffect(
    Effect.map(target, ({ sharedSyncMs }) => CostTracker.layerWith({ defaultSyncIntervalMs: sharedSyncMs }))
  )).pipe(Layer.provideMerge(options.accounting ?? RecordStoreSql.layerAccounting))

  const providers = (options.providers ?? ProvidersLive.layer).pipe(Layer.provide(options.httpClient ?? HttpClientLive.layer))

  const signals = Layer.mergeAll(
    orLive(
      options.rateLimiter,
      Layer.unwrapEffect(
        Effect.map(target, ({ fastSyncMs }) => RateLimiter.layerWith({ defaultSyncIntervalMs: fastSyncMs }))
      ).pipe(
        Layer.provide(options.limiterStore ?? limiterStoreMemory),
        Layer.provide(options.limiterUsageStore ?? LimiterUsageStoreSql.layer)
      )
    ),
    orLive(options.performanceMonitor, PerformanceMonitor.layer),
    orLive(options.responseEvaluator, ResponseEvaluator.layer),
    orLive(
      options.responseCache,
      Layer.unwrapEffect(
        Effect.map(target, ({ sharedSyncMs }) =>
          ResponseCache.layerWith({ syncEvery: sharedSyncMs === undefined ? undefined : Duration.millis(sharedSyncMs) }))
      ).pipe(Layer.provide(options.cacheStore ?? CacheStoreSql.layer))
    )
  )

  /** At start: one warning per provider that needs a key and has none (its models read as unavailable). */
  const validateKeys = Layer.effectDiscard(
    Effect.gen(function* () {
      const keys = yield* ApiKeys.ApiKeys
      const table = yield* Providers
      yield* keys.validate(table.ids.filter((id) => table.get(id)?.requiresKey === true))
    })
  )

  /** From start on: a warning whenever budgets name a model the registry does not have (they hold for no request). */
  const budgetModels = Layer.scopedDiscard(warnUnknownBudgetModels)

  // Every instance's events to every instance's subscribers (`Events/Sync.ts`).
  const eventsSync = Layer.unwrapEffect(
    Effect.map(target, ({ fastSyncMs }) => EventsSync.layerWith({ defaultSyncIntervalMs: fastSyncMs }))
  ).pipe(Layer.provide(options.eventLogStore ?? EventLogStoreSql.layer))

  return Layer.mergeAll(orLive(options.gateway, Gateway.layer), validateKeys, budgetModels, eventsSync).pipe(
    Layer.provideMerge(orLive(options.failover, Failover.layer)),
    Layer.provideMerge(orLive(options.modelSelector, ModelSelector.layer)),
    Layer.provideMerge(orLive(
      options.healthChecker,
      Layer.unwrapEffect(
        Effect.map(target, ({ fastSyncMs }) => HealthChecker.layerWith({ defaultSyncIntervalMs: fastSyncMs }))
      ).pipe(Layer.provide(options.healthMarkStore ?? HealthMarkStoreSql.layer))
    )),
    Layer.provideMerge(signals),
    Layer.provideMerge(Layer.mergeAll(registry, orLive(options.apiKeys, ApiKeys.layer), providers)),
    Layer.provideMerge(accounting),
    Layer.provideMerge(database),
    Layer.provideMerge(config),
    // One id per build, shared by the record store and the cost tracker (InstanceId.ts).
    Layer.provideMerge(InstanceId.layer),
    Layer.provideMerge(ApiKeys.dotEnvConfigProvider()),
    Layer.provideMerge(NodeContext.layer)
  )
}

/**
 * The gateway with its defaults: `config/` (or `MODELGATE_CONFIG_DIR`), SQLite
 * at `database.filename` (PostgreSQL when `MODELGATE_DATABASE_URL` is set),
 * the four adapters. Fails to build as `layerWith`
 * does (`ConfigError`, `StoreError`).
 */
export const layer = layerWith()
