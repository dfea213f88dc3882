/**
 * A live `GatewayConfig` (its `make`: reloads publish and apply as from the
 * files) whose "files" the test sets: `apply` writes the next configuration
 * and reloads, as an edit then `POST /admin/reload` would.
 */
import { Context, Effect, Layer, Ref } from "effect"
import * as GatewayConfig from "../src/GatewayConfig.js"
import type { GatewayConfigData } from "../src/GatewayConfigSchema.js"
import type { Events } from "../src/Events.js"

/** Sets the configuration the next reload reads, and reloads. */
export class ConfigFiles extends Context.Tag("test/ConfigFiles")<
  ConfigFiles,
  { readonly apply: (next: GatewayConfigData) => Effect.Effect<GatewayConfigData, unknown> }
>() {}

/** `GatewayConfig` starting at `initial` (with `startOverrides`, as `serve --port` gives), and `ConfigFiles` to change it. */
export const layerReloadable = (
  initial: GatewayConfigData,
  startOverrides?: ReadonlyArray<GatewayConfig.StartOverride>
): Layer.Layer<GatewayConfig.GatewayConfig | ConfigFiles, never, Events> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const files = yield* Ref.make(initial)
      const config = yield* GatewayConfig.make({ load: Ref.get(files), source: "test files", startOverrides })
      return Context.make(GatewayConfig.GatewayConfig, config).pipe(
        Context.add(ConfigFiles, { apply: (next) => Effect.zipRight(Ref.set(files, next), config.reload) })
      )
    })
  ).pipe(Layer.orDie)
