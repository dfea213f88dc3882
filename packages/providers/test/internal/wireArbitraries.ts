/**
 * fast-check building blocks for the wire-shape property tests (a fast path
 * held to its Schema): field values of the right type most of the time, and
 * now and then a wrong or odd one, so that both paths are exercised.
 */
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

/** A token count or index. */
export const count = fc.integer({ min: 0, max: 100_000 })

/** A short text or null. */
export const text = fc.oneof(fc.constant(null), fc.string({ maxLength: 8 }))
