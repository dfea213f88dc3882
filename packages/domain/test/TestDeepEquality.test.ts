/**
 * The tests' deep equality (`vitest.setup.ts`) tells Effect's `Option` and
 * `Either` apart by their case: without it, chai's `deepStrictEqual` finds
 * `Option.none()` equal to `Option.some(x)`, and every test that expects a
 * cached answer, a found row or a decoded value as `Option.some(...)` would
 * pass on `None`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either, Option } from "effect"

describe("the tests' deep equality", () => {
  it("tells None from Some, at the top and nested, and compares what Some holds", () => {
    assert.throws(() => assert.deepStrictEqual<unknown>(Option.none(), Option.some(1)))
    assert.throws(() => assert.deepStrictEqual<unknown>(Option.some(1), Option.none()))
    assert.throws(() => assert.deepStrictEqual<unknown>({ found: [Option.none()] }, { found: [Option.some("row")] }))
    assert.throws(() => assert.deepStrictEqual(Option.some({ a: 1 }), Option.some({ a: 2 })))
    assert.deepStrictEqual(Option.some({ a: [1, 2] }), Option.some({ a: [1, 2] }))
    assert.deepStrictEqual(Option.none(), Option.none())
  })

  it("tells Left from Right", () => {
    assert.throws(() => assert.deepStrictEqual<unknown>(Either.left(1), Either.right(1)))
    assert.deepStrictEqual(Either.right({ a: 1 }), Either.right({ a: 1 }))
  })
})
