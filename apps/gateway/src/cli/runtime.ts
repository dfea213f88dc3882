/**
 * Where the CLI gets its services. `makeAppLayer` is the one place that builds
 * the full gateway for `serve`, `models` and `costs`.
 *
 * PLACEHOLDER (owner: the lead): replace the body of `makeAppLayer` with the
 * composition of `GatewayLive` from `@modelgate/node`, configured from
 * `options`. Until then every command that needs the gateway fails with a
 * clear message.
 */
import { Data, Layer } from "effect"
import type { AppServices } from "../http/Router.js"

/** What the CLI knows when it builds the gateway. */
export interface AppLayerOptions {
  /** The config directory (`--config`, `MODELGATE_CONFIG_DIR`, default `./config`). */
  readonly configDir: string
  /** The environment overlay (`MODELGATE_ENV`), e.g. `production`. */
  readonly env: string | undefined
  /** The SQLite file (`MODELGATE_DB`, default `./data/modelgate.db`). */
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

/** Build the gateway's services. PLACEHOLDER: the lead replaces this body with `GatewayLive`. */
export const makeAppLayer = (options: AppLayerOptions): AppLayer =>
  Layer.fail(
    new AppNotWired({
      reason: `the gateway services are not wired into the CLI yet (apps/gateway/src/cli/runtime.ts makeAppLayer; config ${options.configDir}, db ${options.dbPath})`
    })
  )
