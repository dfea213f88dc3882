/**
 * A bad value of a `modelgate` flag gets one line on stderr naming the flag,
 * the value and what it may be, not @effect/cli's bare "Expected one of the
 * following cases: ..." or "'abc' is not a integer". Nothing runs: the
 * failure is a ValidationError from parsing, so no gateway was built and no
 * server was started (before, `serve --port 70000` built the gateway and then
 * died in listen). The exit code of the real process:
 * BadUsageExitsTwo.e2e.test.ts.
 */
import { HttpServerError } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import * as Net from "node:net"
import { run, runWith, writeConfig } from "./support/RunCli.js"
import { usageError, usageErrorWith } from "./support/UsageError.js"

describe("bad usage names the flag and the value", () => {
  it.effect("costs --by week: the flag, the value and the choices", () =>
    Effect.gen(function* () {
      for (const args of [["--by", "week"], ["--by=week"]]) {
        const err = yield* usageError("costs", ...args)
        assert.include(err, `--by "week"`)
        assert.include(err, "model, provider, day, agent")
      }
    }))

  it.effect("costs --since yesterday: the flag and the value, from the command (it needs the clock), as bad usage", () =>
    Effect.gen(function* () {
      const message = yield* usageError("costs", "--since", "yesterday")
      assert.include(message, `--since "yesterday"`)
      assert.include(message, "24h")
    }))

  it.effect("serve --port abc / 70000: the flag, the value and the range, before the gateway is built", () =>
    Effect.gen(function* () {
      for (const value of ["abc", "70000", "-1", "80.5"]) {
        const err = yield* usageError("serve", "--port", value)
        assert.include(err, `--port "${value}"`)
        assert.include(err, "an integer from 0 to 65535")
      }
      assert.include(yield* usageError("serve", "--port=abc"), `--port "abc"`)
      assert.include(yield* usageError("demo", "--port", "abc"), `--port "abc"`)
    }))

  it.effect("keys new --agent-type longer than a request's agent type may be: bad usage naming the flag and the limit, no entry printed", () =>
    Effect.gen(function* () {
      const err = yield* usageError("keys", "new", "--name", "search-team", "--agent-type", "a".repeat(257))
      assert.include(err, "--agent-type")
      assert.include(err, "at most 256 characters")
    }))

  it.effect("serve --host \"\": refused (an empty host listens on every interface, not 127.0.0.1)", () =>
    Effect.gen(function* () {
      for (const args of [["--host", ""], ["--host="], ["--host", " "]]) {
        const err = yield* usageError("serve", ...args)
        assert.include(err, "--host")
        assert.include(err, "127.0.0.1")
      }
    }))

  it.effect("--config \"\" and config validate \"\": refused, not read as the working directory nor as the default", () =>
    Effect.gen(function* () {
      for (const args of [["serve", "--config", ""], ["serve", "--config="], ["models", "--config", " "], ["costs", "--config", ""]]) {
        const err = yield* usageError(...args)
        assert.include(err, "--config")
        assert.include(err, "not empty")
      }
      // Whatever MODELGATE_CONFIG_DIR says: the flag was given, empty.
      const dir = writeConfig({ "gateway.json": {}, "models.json": { models: [] } })
      assert.include(yield* usageErrorWith({ MODELGATE_CONFIG_DIR: dir }, "serve", "--config", ""), "--config")
      for (const value of ["", " "]) {
        const err = yield* usageError("config", "validate", value)
        assert.include(err, `DIR ${JSON.stringify(value)}`)
        assert.include(err, "not empty")
      }
    }))

  it.effect("keys new --rpm x: the flag and the value", () =>
    Effect.gen(function* () {
      for (const value of ["x", "0"]) {
        const err = yield* usageError("keys", "new", "--name", "team", "--rpm", value)
        assert.include(err, `--rpm "${value}"`)
        assert.include(err, "an integer of 1 or more")
      }
    }))
})

describe("serve --port and PORT", () => {
  it.effect("PORT is read when --port is absent, and a bad one is named (out of range: by the config, as server.port)", () =>
    Effect.gen(function* () {
      const err = yield* usageErrorWith({ PORT: "abc" }, "serve")
      assert.include(err, "PORT")
      assert.include(err, `"abc"`)
      const flagWins = yield* usageErrorWith({ PORT: "abc" }, "serve", "--port", "70000")
      assert.include(flagWins, `--port "70000"`)
      assert.notInclude(flagWins, "abc")
    }))

  it.effect("serve listens on PORT when --port is absent (a port already taken makes that visible)", () =>
    Effect.gen(function* () {
      const blocker = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const server = Net.createServer()
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const port = (blocker.address() as Net.AddressInfo).port
      const dir = writeConfig({ "gateway.json": {}, "models.json": { models: [] } })
      const { exit } = yield* runWith({ PORT: String(port) }, "serve", "--config", dir)
      assert.isTrue(Exit.isFailure(exit))
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(failure) && HttpServerError.isServerError(failure.value) && failure.value._tag === "ServeError", String(exit))
      const listen = String(Option.isSome(failure) ? (failure.value as HttpServerError.ServeError).cause : "")
      assert.include(listen, "EADDRINUSE")
      assert.include(listen, `:${port}`)
    }).pipe(Effect.scoped))
})

describe("help", () => {
  it.effect("--help still shows the options (the choices of --by included)", () =>
    Effect.gen(function* () {
      const serve = yield* run("serve", "--help")
      assert.isTrue(Exit.isSuccess(serve.exit))
      assert.include(serve.out, "--port integer")
      assert.strictEqual(serve.err, "")
      const costs = yield* run("costs", "--help")
      assert.isTrue(Exit.isSuccess(costs.exit))
      assert.include(costs.out, "--by model | provider | day | agent")
      const root = yield* run("--help")
      assert.isTrue(Exit.isSuccess(root.exit))
      assert.include(root.out, "costs")
    }))
})
