/**
 * `modelgate serve` and `modelgate demo` log at `--log-level`, else
 * `MODELGATE_LOG_LEVEL`, else `logLevel` of the config: the level at which the
 * gateway's services, as they are built, are heard.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Exit, Fiber, Layer, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Commands from "../src/cli/Commands.js"
import type { AppLayer } from "../src/cli/runtime.js"
import { echoGateway, services } from "./support/Doubles.js"
import { levelProbe } from "./support/LevelProbe.js"

/** Run `modelgate serve ...args`; the app layer records its log level and fails, so serve ends. */
const serveLevel = (env: Record<string, string>, ...args: ReadonlyArray<string>) => runLevel(env, "serve", ...args)

/**
 * Run `modelgate ...args` (the command included); see `serveLevel`. The level
 * is the lowest at which a log of the app layer reached the logger.
 */
const runLevel = (env: Record<string, string>, ...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const probe = levelProbe()
    let built = 0
    const app = Layer.unwrapEffect(
      Effect.zipRight(Effect.sync(() => built++), Effect.zipRight(probe.logAll, Effect.fail("stop here")))
    ) as unknown as AppLayer
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-cli-level-"))
    const exit = yield* Commands.run(() => app)(["node", "modelgate", ...args]).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MODELGATE_DB", Path.join(dir, "data", "modelgate.db")], ...Object.entries(env)]))),
      Effect.provide(NodeContext.layer),
      Effect.provide(probe.logger),
      Effect.exit
    )
    assert.isTrue(Exit.isFailure(exit), "the double fails once it has logged")
    assert.strictEqual(built, 1, JSON.stringify(exit))
    return probe.lowest()
  })

const configWith = (gateway: unknown) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-config-"))
  Fs.writeFileSync(Path.join(dir, "gateway.json"), JSON.stringify(gateway))
  Fs.writeFileSync(Path.join(dir, "models.json"), JSON.stringify({ models: [] }))
  return dir
}

describe("cli log level", () => {
  it.effect("serve applies logLevel of the config", () =>
    Effect.gen(function* () {
      const dir = configWith({ logLevel: "debug" })
      assert.strictEqual(yield* serveLevel({}, "--config", dir), "DEBUG")
      assert.strictEqual(yield* serveLevel({}, "--config", configWith({})), "INFO", "the default")
    }))

  it.effect("MODELGATE_LOG_LEVEL wins over the config, --log-level over both", () =>
    Effect.gen(function* () {
      const dir = configWith({ logLevel: "debug" })
      assert.strictEqual(yield* serveLevel({ MODELGATE_LOG_LEVEL: "error" }, "--config", dir), "ERROR")
      assert.strictEqual(yield* runLevel({ MODELGATE_LOG_LEVEL: "error" }, "--log-level", "warning", "serve", "--config", dir), "WARN")
    }))

  it.effect("the environment overlay's logLevel applies", () =>
    Effect.gen(function* () {
      const dir = configWith({ logLevel: "debug" })
      Fs.mkdirSync(Path.join(dir, "environments"))
      Fs.writeFileSync(Path.join(dir, "environments", "prod.json"), JSON.stringify({ logLevel: "warning" }))
      assert.strictEqual(yield* serveLevel({ MODELGATE_ENV: "prod" }, "--config", dir), "WARN")
    }))

  it.live("serve prints its address even when the level hides the server's info line", () =>
    Effect.gen(function* () {
      const out: Array<string> = []
      const console = new Proxy({} as Console.Console, {
        get: (_target, key) => {
          if (key === "log" || key === "error") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(xs.join(" ")))
          if (key === "unsafe") return { log: (...xs: ReadonlyArray<unknown>) => out.push(`LOG ${xs.join(" ")}`), error: () => {} }
          if (key === Console.TypeId) return Console.TypeId
          return () => Effect.void
        }
      })
      const dir = configWith({ logLevel: "warning" })
      const fiber = yield* Commands.run(() => services(echoGateway, { logLevel: "warning" }))(["node", "modelgate", "serve", "--config", dir, "--port", "0"]).pipe(
        Effect.withConsole(console),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MODELGATE_DB", ":memory:"]]))),
        Effect.provide(NodeContext.layer),
        Effect.fork
      )
      const line = yield* Effect.sync(() => out.find((l) => l.startsWith("modelgate listening on"))).pipe(
        Effect.filterOrFail((l) => l !== undefined),
        Effect.retry(Schedule.spaced("20 millis")),
        Effect.timeout("10 seconds")
      )
      const port = /http:\/\/127\.0\.0\.1:(\d+)$/.exec(line)?.[1]
      assert.isDefined(port, line)
      const res = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/health`))
      assert.strictEqual(res.status, 200)
      assert.isFalse(out.some((l) => l.startsWith("LOG") && l.includes("listening")), "no info log at level warning")
      yield* Fiber.interrupt(fiber)
    }))
})
