/**
 * fast-check building blocks for the wire-shape property tests (a fast path
 * held to its Schema): field values of the right type most of the time, and
 * now and then a wrong or odd one, so that both paths are exercised.
 */
import { assert } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"

/** Values a field may hold: right and wrong types, odd numbers included. */
export const anyValue = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -3, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(2 ** 53, -0, 1e300),
  fc.boolean(),
  fc.constant({}),
  fc.constant([])
)

/** Mostly a right value, now and then a wrong one. */
export const mostly = <A>(arb: fc.Arbitrary<A>) => fc.oneof({ arbitrary: arb, weight: 20 }, { arbitrary: anyValue, weight: 1 })

/** Often absent, else mostly right. */
export const optional = <A>(arb: fc.Arbitrary<A>) => fc.option(mostly(arb), { nil: undefined, freq: 3 })

/** Mostly absent (a key the everyday values do not carry), now and then there, mostly right. */
export const rare = <A>(arb: fc.Arbitrary<A>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 6 }, { arbitrary: mostly(arb), weight: 1 })

/** A token count or index. */
export const count = fc.integer({ min: 0, max: 100_000 })

/** A short text or null. */
export const text = fc.oneof(fc.constant(null), fc.string({ maxLength: 8 }))

/**
 * The property that holds a plain-JS fast path to its Schema: for values drawn
 * from `values` (sent through JSON, as off the wire), whatever `fast` accepts
 * the Schema (`decode` of the JSON text) accepts too, decoded to a deeply equal
 * value with the same keys in the same order. `numRuns` draws; the fast path
 * must accept more than `minAccepted` and reject more than `minRejected` of
 * them, so the property cannot hold vacuously.
 */
export const assertHeldToSchema = <A>(
  values: fc.Arbitrary<unknown>,
  fast: (json: unknown) => A | undefined,
  decode: (text: string) => Either.Either<A, unknown>,
  options: { readonly numRuns: number; readonly minAccepted: number; readonly minRejected: number }
): void => {
  let accepted = 0
  let rejected = 0
  fc.assert(
    fc.property(values, (value) => {
      const data = JSON.stringify(value)
      const plain = fast(JSON.parse(data))
      if (plain === undefined) {
        rejected++
        return
      }
      accepted++
      const decoded = decode(data)
      assert.isTrue(Either.isRight(decoded), `the Schema rejects what the fast path accepted: ${data}`)
      if (Either.isRight(decoded)) {
        assert.deepStrictEqual(plain, decoded.right)
        assert.strictEqual(JSON.stringify(plain), JSON.stringify(decoded.right))
      }
    }),
    { numRuns: options.numRuns }
  )
  assert.isAbove(accepted, options.minAccepted)
  assert.isAbove(rejected, options.minRejected)
}
