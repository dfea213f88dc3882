/**
 * Where the CLI gets its services: `makeAppLayer` builds the full gateway
 * (`GatewayLive` from `@modelgate/node`) for `serve`, `models` and `costs`.
 */
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { Data, type Layer } from "effect"
import type { AppServices } from "../http/Router.js"

/** What the CLI knows when it builds the gateway. */
export interface AppLayerOptions {
  /** The config directory (`--config`, `MODELGATE_CONFIG_DIR`, default `./config`). */
  readonly configDir: string
  /** The environment overlay (`MODELGATE_ENV`), e.g. `production`. */
  readonly env: string | undefined
  /** The SQLite file (`MODELGATE_DB`, default `./data/modelgate.db`); `database.filename` of the config already applies `MODELGATE_DB`. */
  readonly dbPath: string
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
 * config's `database.filename` (which `MODELGATE_DB` overrides), the four
 * provider adapters.
 */
export const makeAppLayer = (options: AppLayerOptions): AppLayer =>
  GatewayLive.layerWith({ configDirectory: options.configDir, environment: options.env })
