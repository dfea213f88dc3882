/**
 * Options whose bad values name the flag, the value and what it may be.
 * @effect/cli's own `Options.integer` and `Options.choice` reject a value
 * without naming the flag ("'abc' is not a integer", "Expected one of the
 * following cases: ..."); these read the value as text and check it with
 * `Options.mapEffect`, failing with a message of ours. @effect/cli prints it
 * on one line and the process exits 1.
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect } from "effect"

const invalid = (name: string, raw: string, expected: string) =>
  Effect.fail(ValidationError.invalidValue(HelpDoc.p(`invalid --${name} ${JSON.stringify(raw)}: expected ${expected}`)))

/** `--name` taking an integer from `min` (to `max`); any other value fails naming the flag, the value and the range. */
export const integer = (name: string, range: { readonly min: number; readonly max?: number }) => {
  const expected = range.max === undefined ? `an integer of ${range.min} or more` : `an integer from ${range.min} to ${range.max}`
  return Options.text(name).pipe(
    Options.withPseudoName("integer"),
    Options.mapEffect((raw) => {
      const n = /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
      return Number.isSafeInteger(n) && n >= range.min && n <= (range.max ?? Number.MAX_SAFE_INTEGER) ? Effect.succeed(n) : invalid(name, raw, expected)
    })
  )
}

/** `--name` taking one of `choices` (shown in the usage as `Options.choice` shows them); any other value fails naming the flag, the value and the choices. */
export const choice = <const A extends string>(name: string, choices: readonly [A, ...Array<A>]) =>
  Options.text(name).pipe(
    Options.withPseudoName(choices.join(" | ")),
    Options.mapEffect((raw) => {
      const found = choices.find((c) => c === raw)
      return found !== undefined ? Effect.succeed(found) : invalid(name, raw, `one of ${choices.join(", ")}`)
    })
  )
