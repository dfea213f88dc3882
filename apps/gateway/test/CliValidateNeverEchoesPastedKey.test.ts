/**
 * An operator may paste a team's key itself where `auth.virtualKeys` wants
 * its SHA-256: unquoted (the file is no longer JSON), as the whole entry, as
 * the list, or inside a list or object at `sha256`. `modelgate config
 * validate` (and a reload, which logs and answers the same reasons) says
 * where and what is wrong without printing what was pasted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { runWith, writeConfig } from "./support/RunCli.js"

/** A key as `modelgate keys new` makes them. */
const pasted = "mg-Q2hvY29sYXRlQ2FrZUlzQUxpZTEyMzQ1Njc4OTAxMjM0"

describe("config validate and a pasted virtual key", () => {
  it.effect("unquoted: names the file, line and column, and prints no part of the key", () =>
    Effect.gen(function* () {
      const gateway = [
        "{",
        "  \"auth\": {",
        "    \"virtualKeys\": [",
        `      { "name": "search", "sha256": ${pasted} }`,
        "    ]",
        "  }",
        "}"
      ].join("\n")
      const dir = writeConfig({ "gateway.json": gateway, "models.json": { models: [] } })
      const { err, exit } = yield* runWith({}, "config", "validate", dir)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(err, "gateway.json")
      assert.include(err, "not valid JSON")
      assert.notInclude(err, pasted.slice(0, 4), "no part of the key beyond its first character")
      assert.include(err, "Unexpected token 'm' at line 4 column 37", "where the file is broken")
    }))

  it.effect("a key pasted as an entry, as the list or inside sha256 is named by its place, never printed", () =>
    Effect.gen(function* () {
      const pastes: ReadonlyArray<readonly [unknown, string]> = [
        [[pasted], "auth.virtualKeys[0]"],
        [pasted, "auth.virtualKeys"],
        [[{ name: "search", sha256: [pasted] }], "auth.virtualKeys[0].sha256"],
        [[{ name: "search", sha256: { key: pasted } }], "auth.virtualKeys[0].sha256"]
      ]
      for (const [virtualKeys, place] of pastes) {
        const dir = writeConfig({ "gateway.json": { auth: { virtualKeys } }, "models.json": { models: [] } })
        const { err, exit } = yield* runWith({}, "config", "validate", dir)
        assert.isTrue(Exit.isFailure(exit))
        assert.notInclude(err, pasted.slice(3), JSON.stringify(virtualKeys))
        assert.include(err, `at ${place}: `, JSON.stringify(virtualKeys))
      }
    }))
})
