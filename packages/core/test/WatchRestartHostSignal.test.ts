/**
 * A host that brings its own change signal (`GatewayConfig.make({ changed })`)
 * gets the built-in watchers' policy: a signal stream that fails (or dies) is
 * logged, restarted after 1 s, 2 s, ... and the configuration is read again
 * once the restarted stream has lasted; its later signals reload. On the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, ServerConfig } from "@modelgate/core/GatewayConfigSchema"
import { ConfigError } from "@modelgate/domain/Errors"
import { Effect, Layer, Queue, Ref, Stream, TestClock } from "effect"
import { captureWarnings } from "./FileWatch.js"

const withPort = (port: number) => new GatewayConfigData({ ...defaultConfig, server: ServerConfig.make({ ...defaultConfig.server, port }) })

/**
 * The service on "files" the test sets (`port` 1000 at start), with a host
 * signal stream whose subscriptions follow `starts` in turn (`fail`: fails at
 * once, `die`: dies at once, `end`: ends at once), then read `signals`. A port of 0 reads as invalid.
 */
const hostedConfig = (starts: ReadonlyArray<"fail" | "die" | "end">) =>
  Effect.gen(function*() {
    const files = yield* Ref.make(1000)
    const signals = yield* Queue.unbounded<void>()
    const subscriptions = yield* Ref.make(0)
    const changed = Stream.unwrap(
      Effect.map(Ref.getAndUpdate(subscriptions, (n) => n + 1), (n) => {
        switch (starts[n]) {
          case "fail":
            return Stream.fail(new Error("the host's signal connection was lost"))
          case "die":
            return Stream.die(new Error("the host's signal threw"))
          case "end":
            return Stream.empty
          default:
            return Stream.fromQueue(signals)
        }
      })
    )
    const load = Effect.flatMap(Ref.get(files), (port) =>
      port === 0
        ? Effect.fail(new ConfigError({ file: "host files", path: "server.port", reason: "invalid" }))
        : Effect.succeed(withPort(port)))
    const config = yield* GatewayConfig.make({ load, source: "host files", changed })
    return {
      setPort: (port: number) => Ref.set(files, port),
      signal: Queue.offer(signals, undefined),
      subscriptions: Ref.get(subscriptions),
      portNow: Effect.map(config.get, (c) => c.server.port),
      reload: config.reload
    }
  })

describe("GatewayConfig.make: a host's changed stream is kept alive", () => {
  it.scoped("fails, then dies: logged, restarted after 1 s and 2 s, the change made meanwhile applied, later signals reload", () => {
    const log = captureWarnings()
    return Effect.gen(function*() {
      const host = yield* hostedConfig(["fail", "die"])
      yield* host.setPort(2000) // the signal is lost: nobody tells
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(yield* host.subscriptions, 1)
      yield* TestClock.adjust("1 millis") // t = 1 s: restarted, dies at once
      assert.strictEqual(yield* host.subscriptions, 2)
      yield* TestClock.adjust("1900 millis")
      assert.strictEqual(yield* host.portNow, 1000) // a restart that fails at once reads nothing

      yield* TestClock.adjust("100 millis") // t = 3 s: restarted, lasting
      assert.strictEqual(yield* host.subscriptions, 3)
      yield* TestClock.adjust("100 millis") // settled: read once again
      assert.strictEqual(yield* host.portNow, 2000)

      yield* host.setPort(3000)
      yield* host.signal
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* host.portNow, 3000)

      const failures = log.warnings.filter((w) => w.includes("on host files failed, restarting"))
      assert.strictEqual(failures.length, 2)
      assert.include(failures[0], "the host's signal connection was lost")
      assert.include(failures[1], "the host's signal threw")
    }).pipe(Effect.provide(Layer.merge(log.layer, Events.layer)))
  })

  it.scoped("after a restart, an invalid configuration is rejected and the running one stays; the next valid one applies", () =>
    Effect.gen(function*() {
      const host = yield* hostedConfig(["fail"])
      yield* host.setPort(0)
      yield* TestClock.adjust("1100 millis") // restarted at 1 s, read again at 1.1 s: rejected
      assert.strictEqual(yield* host.subscriptions, 2)
      assert.strictEqual(yield* host.portNow, 1000)
      yield* host.setPort(4000)
      yield* host.signal
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* host.portNow, 4000)
    }).pipe(Effect.provide(Events.layer)))

  it.scoped("a stream that ends is the host's choice: no warning, no restart, the configuration stays and reload still reads", () => {
    const log = captureWarnings()
    return Effect.gen(function*() {
      const host = yield* hostedConfig(["end"])
      yield* host.setPort(5000)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* host.subscriptions, 1)
      assert.strictEqual(yield* host.portNow, 1000)
      assert.deepStrictEqual(log.warnings, [])
      assert.strictEqual((yield* host.reload).server.port, 5000)
    }).pipe(Effect.provide(Layer.merge(log.layer, Events.layer)))
  })
})
