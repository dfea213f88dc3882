/**
 * Where the CLI gets its services: `makeAppLayer` builds the full gateway
 * (`GatewayLive` from `@modelgate/node`) for `serve`; `models` and `costs` get
 * only what they read (`makeRegistryLayer`, `makeCostsLayer`: the config, the
 * database and the registry or the cost store; no provider, no health probe, no
 * key check).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import * as ApiKeys from "@modelgate/core/ApiKeys"
import * as CostTracker from "@modelgate/core/CostTracker"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { load } from "@modelgate/core/GatewayConfig/Load"
import * as ModelRegistry from "@modelgate/core/ModelRegistry"
import * as RecordSink from "@modelgate/core/RecordSink"
import * as Database from "@modelgate/node/Database"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as CostStoreSql from "@modelgate/sql/CostStoreSql"
import * as ModelStoreSql from "@modelgate/sql/ModelStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Data, Effect, Layer, Option } from "effect"
import * as path from "node:path"
import type { AppServices } from "../http/Router.js"

/** What the CLI knows when it builds the gateway. */
export interface AppLayerOptions {
  /** The config directory (`--config`, `MODELGATE_CONFIG_DIR`, default `./config`). */
  readonly configDir: string
  /** The environment overlay (`MODELGATE_ENV`), e.g. `production`. */
  readonly env: string | undefined
  /** The start-only settings the command line sets (`serve --port`: `server.port`), for the reload warning. */
  readonly startOverrides?: ReadonlyArray<GatewayConfig.StartOverride> | undefined
}

/** The gateway services could not be built. */
export class AppNotWired extends Data.TaggedError("AppNotWired")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/** The services every CLI command may use. */
export type AppLayer = Layer.Layer<AppServices, unknown>

/**
 * The live gateway on `options.configDir`: config watched, SQLite at the
 * config's `database.filename` (which `MODELGATE_DB` overrides) or PostgreSQL
 * at `MODELGATE_DATABASE_URL`, the four provider adapters.
 */
export const makeAppLayer = (options: AppLayerOptions): AppLayer =>
  GatewayLive.layerWith({ configDirectory: options.configDir, environment: options.env, startOverrides: options.startOverrides })

/**
 * The database `serve` opens: PostgreSQL when `MODELGATE_DATABASE_URL` is set
 * (environment or `.env`), else the SQLite file of the configuration
 * (`database.filename`, which `MODELGATE_DB` overrides). `models` and `costs`
 * only read it: a SQLite file that does not exist fails naming it, and is
 * not created (an empty database would read as no costs and no added models).
 */
const database = (options: AppLayerOptions) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const { filename } = (yield* load({ directory: options.configDir, environment: options.env })).database
      const postgres = Option.isSome(yield* Database.urlFromEnv)
      if (!postgres && !Sqlite.isInMemory(filename) && !(yield* (yield* FileSystem.FileSystem).exists(filename))) {
        return yield* new AppNotWired({
          reason: `no database at ${filename}: nothing was recorded there (serve creates it); check MODELGATE_DB, database.filename and the working directory`
        })
      }
      return Database.layerFromEnv(filename)
    })
  ).pipe(Layer.provide(ApiKeys.dotEnvConfigProvider()), Layer.provide(NodeContext.layer))

/** The registry alone (`modelgate models`): `models.json` with the database's overrides, not watched. */
export const makeRegistryLayer = (options: AppLayerOptions): Layer.Layer<ModelRegistry.ModelRegistry, unknown> =>
  ModelRegistry.layer({ file: path.join(options.configDir, "models.json"), watch: false }).pipe(
    Layer.provide(ModelStoreSql.layer),
    Layer.provide(database(options)),
    Layer.provide(NodeContext.layer)
  )

/** The cost tracker over the database's records alone (`modelgate costs`). */
export const makeCostsLayer = (options: AppLayerOptions): Layer.Layer<CostTracker.CostTracker, unknown> =>
  CostTracker.layer.pipe(
    Layer.provide(Layer.mergeAll(CostStoreSql.layer.pipe(Layer.provide(database(options))), RecordSink.layerMemory)),
    Layer.provide(GatewayConfig.layer({ directory: options.configDir, environment: options.env, watch: false })),
    Layer.provide(Events.layer),
    Layer.provide(NodeContext.layer)
  )
