/**
 * `modelgate serve` follows `logLevel` across configuration reloads: fibers
 * that were already running (the server's, the services') log at the new
 * level from the moment the configuration changes.
 */
import { assert, describe, it } from "@effect/vitest"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import { Deferred, Effect, Fiber, Layer, Logger, LogLevel, SubscriptionRef } from "effect"
import { followConfig, type LiveLogLevel, withLiveLevel } from "../src/cli/LogLevel.js"

const withLevel = (logLevel: GatewayConfigData["logLevel"]) => new GatewayConfigData({ ...defaultConfig, logLevel })

describe("cli log level across reloads", () => {
  it.scoped("a running fiber logs at the level of the configuration after each change", () =>
    Effect.gen(function* () {
      const ref = yield* SubscriptionRef.make(withLevel("info"))
      const config = GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) })
      const live: LiveLogLevel = { current: LogLevel.Info }
      yield* Layer.build(followConfig(live)).pipe(Effect.provideService(GatewayConfig, config))

      const heard: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => void heard.push(`${logLevel.label} ${String(message)}`))
      const go = yield* Deferred.make<void>()
      const done = yield* Deferred.make<void>()
      // forked before the change, as the server's fibers are
      const fiber = yield* Effect.gen(function* () {
        yield* Effect.logDebug("before")
        yield* Effect.logInfo("before")
        yield* Deferred.succeed(done, undefined)
        yield* Deferred.await(go)
        yield* Effect.logDebug("after")
        yield* Effect.logInfo("after")
        yield* Effect.logWarning("after")
      }).pipe(withLiveLevel(live), Effect.provide(Logger.replace(Logger.defaultLogger, capture)), Effect.fork)
      yield* Deferred.await(done)

      yield* SubscriptionRef.set(ref, withLevel("warning"))
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => live.current === LogLevel.Warning }))
      yield* Deferred.succeed(go, undefined)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(heard, ["INFO before", "WARN after"])

      yield* SubscriptionRef.set(ref, withLevel("debug"))
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => live.current === LogLevel.Debug }))
      yield* Effect.logDebug("now heard").pipe(withLiveLevel(live), Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      assert.strictEqual(heard.at(-1), "DEBUG now heard")
    }))
})
