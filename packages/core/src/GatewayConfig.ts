/**
 * GatewayConfig: the running configuration, its reloads and its changes.
 *
 * Contract (implementation: foundation issue): `get` always returns the last
 * valid configuration; `reload` decodes the files again and either applies them
 * (publishing `ConfigReloaded`) or fails with `ConfigError` and keeps the
 * running configuration (publishing `ConfigRejected`).
 */
import type { ConfigError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer, Stream, SubscriptionRef } from "effect"
import { defaultConfig, type GatewayConfigData } from "./GatewayConfigSchema.js"

/** The running gateway configuration. */
export class GatewayConfig extends Context.Tag("@modelgate/core/GatewayConfig")<
  GatewayConfig,
  {
    /** The configuration in force now. */
    readonly get: Effect.Effect<GatewayConfigData>
    /** The current configuration, then every applied change. */
    readonly changes: Stream.Stream<GatewayConfigData>
    /** Read the files again; on failure the running configuration stays. */
    readonly reload: Effect.Effect<GatewayConfigData, ConfigError>
  }
>() {}

/** A fixed configuration (tests, embedding): `reload` re-applies the same value. */
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
