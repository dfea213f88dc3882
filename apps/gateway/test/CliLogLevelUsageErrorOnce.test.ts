/**
 * With `--log-level`, a usage error is printed once, as without it (before,
 * @effect/cli re-ran the command line without the flag, printed the error,
 * and printed it again on the way out).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { usageError } from "./support/UsageError.js"

describe("usage errors under --log-level", () => {
  it.effect("an unknown argument, a bad value, an unknown command: one line each, as without --log-level", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<ReadonlyArray<string>> = [
        ["serve", "--nope"],
        ["serve", "--port", "abc"],
        ["costs", "--by", "week"],
        ["nope"]
      ]
      for (const args of cases) {
        const without = yield* usageError(...args)
        assert.strictEqual(yield* usageError("--log-level", "debug", ...args), without, args.join(" "))
        assert.strictEqual(yield* usageError(...args, "--log-level=warning"), without, args.join(" "))
      }
    }))
})
