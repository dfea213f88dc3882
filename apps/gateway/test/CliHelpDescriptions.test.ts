/**
 * `--help` describes each option by what it is: `--port`, `--rpm` and `--by`
 * check their values themselves (BadUsage.ts) but are shown as an integer or
 * a choice, not as @effect/cli's "A user-defined piece of text.".
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { run } from "./support/RunCli.js"

/** The help text of `flag` in `help`: from its header line to the next header, without colours. */
const section = (help: string, flag: string) => {
  const lines = help.replace(/\x1b\[[0-9;]*m/g, "").split("\n")
  const start = lines.findIndex((l) => l.startsWith(`${flag} `))
  assert.isAtLeast(start, 0, `${flag} in\n${help}`)
  const end = lines.findIndex((l, i) => i > start && l !== "" && !l.startsWith(" "))
  return lines.slice(start, end === -1 ? undefined : end).join("\n")
}

/** The help of `modelgate ...command --help`. */
const help = (...command: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { exit, out } = yield* run(...command, "--help")
    assert.isTrue(Exit.isSuccess(exit), String(exit))
    return out
  })

describe("option help", () => {
  it.effect("serve --help: --port is described as an integer, with its own description", () =>
    Effect.gen(function* () {
      const port = section(yield* help("serve"), "--port")
      assert.notInclude(port, "A user-defined piece of text.")
      assert.include(port, "An integer.")
      assert.include(port, "port to listen on (default: PORT, then server.port of the config, 8787)")
    }))

  it.effect("costs --help: --by lists its choices, with its own description", () =>
    Effect.gen(function* () {
      const by = section(yield* help("costs"), "--by")
      assert.notInclude(by, "A user-defined piece of text.")
      assert.include(by, "model, provider, day, agent")
      assert.include(by, "what the costs are grouped by (default: model)")
    }))

  it.effect("costs --help: --since names its forms, that it is included and the range runs up to now, and its default", () =>
    Effect.gen(function* () {
      const since = section(yield* help("costs"), "--since")
      assert.include(
        since,
        "start of the range, included (the range runs up to now): 30m, 24h, 7d, an ISO date (its midnight; UTC unless it names a zone) or epoch ms (default: 24h)"
      )
    }))

  it.effect("keys new --help: --rpm is described as an integer, with its own description", () =>
    Effect.gen(function* () {
      const rpm = section(yield* help("keys", "new"), "--rpm")
      assert.notInclude(rpm, "A user-defined piece of text.")
      assert.include(rpm, "An integer.")
      assert.include(rpm, "chat requests a minute the key may make")
    }))
})
