/**
 * Deep equality in `assert.deepStrictEqual` / `expect(...).to.eql` that tells
 * Effect's `Option` and `Either` apart by their case. Chai's own deep-eql
 * compares them as iterables (each yields itself once, wrapped, for
 * `yield*`), so `Option.none()` deep-equals `Option.some(x)`: an assertion
 * that expects `Option.some(answer)` would pass on `None`. Every other value
 * is compared as chai does.
 */
import * as chai from "chai"
import { Either, Option } from "effect"

/** Option and Either by their case and contents; `null` (chai's own comparison) for anything else. */
const comparator = (expected: unknown, actual: unknown): boolean | null => {
  if (Option.isOption(expected) || Option.isOption(actual)) {
    if (!Option.isOption(expected) || !Option.isOption(actual)) return false
    if (Option.isNone(expected) || Option.isNone(actual)) return Option.isNone(expected) && Option.isNone(actual)
    return deepEqual(expected.value, actual.value)
  }
  if (Either.isEither(expected) || Either.isEither(actual)) {
    if (!Either.isEither(expected) || !Either.isEither(actual)) return false
    if (Either.isLeft(expected)) return Either.isLeft(actual) && deepEqual(expected.left, actual.left)
    return Either.isRight(actual) && deepEqual(expected.right, actual.right)
  }
  return null
}

const deepEqual = (expected: unknown, actual: unknown): boolean => chai.util.eql(expected, actual, { comparator })

chai.config.deepEqual = deepEqual
