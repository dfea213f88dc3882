/**
 * What `modelgate ...args` printed when it failed on its usage: a
 * ValidationError, nothing on stdout and exactly one line on stderr.
 */
import { ValidationError } from "@effect/cli"
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import { runWith } from "./RunCli.js"

/** The one line `modelgate ...args` printed, with these environment variables, once it is known to have failed on its usage and printed that line alone. */
export const usageErrorWith = (env: Record<string, string>, ...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { exit, out, err } = yield* runWith(env, ...args)
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    assert.isTrue(Option.isSome(failure) && ValidationError.isValidationError(failure.value), `modelgate ${args.join(" ")}: ${String(exit)}`)
    assert.strictEqual(out, "", "nothing on stdout")
    const message = err.trim()
    assert.notStrictEqual(message, "", "a message, on stderr")
    assert.notInclude(message, "\n", `one line: ${err}`)
    return message
  })

/** `usageErrorWith` without environment variables. */
export const usageError = (...args: ReadonlyArray<string>) => usageErrorWith({}, ...args)
