/**
 * A flag that takes a value, given without one (last on the line, or followed
 * by another flag), is named with what its value may be, not reported as
 * "Received unknown argument: '--port'" nor swallowing the next flag as its
 * value. The exit code of the real process: BadUsageExitsOne.e2e.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Commands from "../src/cli/Commands.js"
import { run } from "./support/RunCli.js"
import { usageError } from "./support/UsageError.js"

describe("a flag without its value", () => {
  it.effect("serve --port, costs --by, --since, --config, serve --host: the flag needs a value", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["serve", "--port"], "--port needs a value (an integer from 0 to 65535)"],
        [["costs", "--by"], "--by needs a value (one of model, provider, day, agent)"],
        [["costs", "--since"], "--since needs a value"],
        [["serve", "--config"], "--config needs a value"],
        [["serve", "--host"], "--host needs a value"],
        [["models", "--config"], "--config needs a value"],
        [["keys", "new", "--name", "team", "--rpm"], "--rpm needs a value (an integer of 1 or more)"],
        [["keys", "new", "--name"], "--name needs a value"],
        [["demo", "--port"], "--port needs a value"]
      ]
      for (const [args, expected] of cases) {
        const err = yield* usageError(...args)
        assert.include(err, expected, args.join(" "))
        assert.notInclude(err, "unknown argument", args.join(" "))
      }
    }))

  it.effect("a flag followed by another flag needs a value (the next flag is not taken as its value)", () =>
    Effect.gen(function* () {
      assert.include(yield* usageError("serve", "--port", "--host", "127.0.0.1"), "--port needs a value")
      assert.include(yield* usageError("serve", "--host", "--port", "8080"), "--host needs a value")
      assert.include(yield* usageError("costs", "--since", "--by", "day"), "--since needs a value")
    }))

  it.effect("--log-level without a level names the levels (not \"Invalid subcommand\" when the command was taken for it)", () =>
    Effect.gen(function* () {
      const missing = yield* usageError("serve", "--log-level")
      assert.include(missing, "--log-level needs a value")
      assert.include(missing, "debug")
      const taken = yield* usageError("--log-level", "serve")
      assert.include(taken, `invalid --log-level "serve"`)
      assert.include(taken, "debug")
    }))

  it.effect("every option of every command that takes a value is known to the check", () =>
    Effect.gen(function* () {
      const { exit, out } = yield* run("--help")
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      // The commands' usages in the root help: a flag taking a value is followed by its type ("--port integer").
      const flags = Array.from(out.replace(/\x1b\[[0-9;]*m/g, "").matchAll(/(--[a-z][a-z-]*) [^\s\]|-]/g), (m) => m[1]!)
      assert.includeMembers(flags, ["--port", "--host", "--config", "--since", "--by", "--name", "--rpm", "--model"], out)
      const known = Commands.valueFlags.map((f) => `--${f.name}`)
      for (const flag of flags) assert.include(known, flag)
    }))

  it.effect("a negative port is a bad value, not a missing one", () =>
    Effect.gen(function* () {
      assert.include(yield* usageError("serve", "--port", "-1"), `invalid --port "-1"`)
    }))
})
