/**
 * Flags that take a value, and the one line a user gets when the value is
 * missing or bad: the flag, the value and what it may be. @effect/cli's own
 * messages name neither ("'abc' is not a integer", "Expected one of the
 * following cases: ...", "Received unknown argument: '--port'" for a missing
 * value). `check` finds such a problem on the command line before @effect/cli
 * parses it; the options themselves are @effect/cli's `Options.integer` and
 * `Options.choice`, so `--help` and the completions describe them as what
 * they are. @effect/cli prints the error; the process exits 2 (`teardown`),
 * as usage errors conventionally do, so that a script can tell them from a
 * command's own failure (exit 1: `config validate` found problems).
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import type { Runtime } from "@effect/platform"
import { Cause, Console, Effect, Exit, Option } from "effect"

/** The exit code of bad usage. */
export const exitCode = 2

/** A flag that takes a value: its name (without `--`), what the value may be, and whether a given value is one. */
export interface ValueFlag {
  readonly name: string
  readonly expected: string
  readonly accepts: (raw: string) => boolean
}

/** A flag taking an integer in `range`. */
export interface IntegerFlag extends ValueFlag {
  readonly range: { readonly min: number; readonly max?: number }
}

/** A flag taking one of `choices`. */
export interface ChoiceFlag<A extends string> extends ValueFlag {
  readonly choices: readonly [A, ...Array<A>]
}

/** `--name` taking any text; `expected` tells a user who gave none what it is. */
export const textFlag = (name: string, expected: string): ValueFlag => ({ name, expected, accepts: () => true })

/** `--name` taking an integer from `min` (to `max`). */
export const integerFlag = (name: string, range: { readonly min: number; readonly max?: number }): IntegerFlag => ({
  name,
  range,
  expected: range.max === undefined ? `an integer of ${range.min} or more` : `an integer from ${range.min} to ${range.max}`,
  accepts: (raw) => {
    const n = /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
    return Number.isSafeInteger(n) && n >= range.min && n <= (range.max ?? Number.MAX_SAFE_INTEGER)
  }
})

/** `--name` taking one of `choices`. */
export const choiceFlag = <const A extends string>(name: string, choices: readonly [A, ...Array<A>]): ChoiceFlag<A> => ({
  name,
  choices,
  expected: `one of ${choices.join(", ")}`,
  accepts: (raw) => choices.some((c) => c === raw)
})

/** `--name` given without a value. */
export const missingValue = (flag: ValueFlag) => ValidationError.missingValue(HelpDoc.p(`--${flag.name} needs a value (${flag.expected})`))

/** `--name raw` with a value the flag refuses. */
export const invalidValue = (flag: ValueFlag, raw: string) =>
  ValidationError.invalidValue(HelpDoc.p(`invalid --${flag.name} ${JSON.stringify(raw)}: expected ${flag.expected}`))

/** The option of an integer flag; a parsed value outside the range fails naming the flag. */
export const integer = (flag: IntegerFlag) =>
  Options.integer(flag.name).pipe(
    Options.mapEffect((n) => (flag.accepts(String(n)) ? Effect.succeed(n) : Effect.fail(invalidValue(flag, String(n)))))
  )

/** The option of a choice flag. */
export const choice = <A extends string>(flag: ChoiceFlag<A>) => Options.choice(flag.name, flag.choices)

/** The argument `name` (e.g. `DIR`) given as `raw`, which is not `expected`. */
export const invalidArgument = (name: string, raw: string, expected: string) =>
  ValidationError.invalidArgument(HelpDoc.p(`invalid ${name} ${JSON.stringify(raw)}: expected ${expected}`))

/** `--name`, a flag no command has. */
export const unknownFlag = (name: string) => ValidationError.invalidArgument(HelpDoc.p(`unknown flag --${name} (see modelgate --help)`))

/**
 * The first of `flags` that `args` (the command line after the executable)
 * gives without a value (last, or followed by another `--` flag) or with a
 * value it refuses, or the first flag that is neither one of `flags` nor one
 * of `switches` (@effect/cli took such a flag for a command's argument, or
 * named the argument after it as the unknown one); None when there is none.
 * `--name value` and `--name=value` are read; the scan stops at `--`.
 */
export const check = (
  flags: ReadonlyArray<ValueFlag>,
  args: ReadonlyArray<string>,
  switches: ReadonlyArray<string>
): Option.Option<ValidationError.ValidationError> => {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") break
    if (!arg.startsWith("--")) continue
    const equals = arg.indexOf("=")
    const name = arg.slice(2, equals === -1 ? undefined : equals)
    const flag = flags.find((f) => f.name === name)
    if (flag === undefined) {
      if (!switches.includes(name)) return Option.some(unknownFlag(name))
      continue
    }
    const value = equals === -1 ? args[i + 1] : arg.slice(equals + 1)
    if (value === undefined || (equals === -1 && value.startsWith("--"))) return Option.some(missingValue(flag))
    if (!flag.accepts(value)) return Option.some(invalidValue(flag, value))
    if (equals === -1) i++
  }
  return Option.none()
}

/** Print `error` (one line, as @effect/cli prints its own) and fail with it: bad usage found by a command itself. */
export const refuse = (error: ValidationError.ValidationError) =>
  Effect.zipRight(Console.error(HelpDoc.toAnsiText(error.error)), Effect.fail(error))

/** Whether `exit` is a failure by bad usage: a `ValidationError` (@effect/cli's, or one of this module). */
export const isBadUsage = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), ValidationError.isValidationError)

/** `inner` with the exit code of bad usage (`exitCode`) in place of the platform's 1. */
export const teardown = (inner: Runtime.Teardown): Runtime.Teardown => (exit, onExit) =>
  inner(exit, (code) => onExit(code === 1 && isBadUsage(exit) ? exitCode : code))
