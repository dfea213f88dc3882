/**
 * A flag no command has is reported by its name, as bad usage, wherever it
 * stands: `config validate --bogus` took `--bogus` for the directory (and
 * listed "problems" in a configuration named `--bogus`), and
 * `config validate --bogus DIR` named DIR as the unknown argument.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { writeConfig } from "./support/RunCli.js"
import { usageError } from "./support/UsageError.js"

describe("an unknown flag", () => {
  it.effect("is named, not taken for an argument nor blamed on one", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "models.json": { models: [] } })
      for (const args of [["config", "validate", "--bogus"], ["config", "validate", "--bogus", dir], ["costs", "--bogus", "--by", "day"]]) {
        const err = yield* usageError(...args)
        assert.include(err, "--bogus", args.join(" "))
        assert.notInclude(err, dir, args.join(" "))
        assert.notInclude(err, "problem", args.join(" "))
      }
    }))
})
