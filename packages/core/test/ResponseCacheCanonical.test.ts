import { assert, describe, it } from "@effect/vitest"
import { canonicalJson } from "@modelgate/core/ResponseCache"
import * as fc from "fast-check"

/** The canonical form as first written (filter/sort/map/join): keys stored in caches must not change. */
const reference = (value: unknown): string => {
  if (value === null || typeof value !== "object") return value === undefined ? "null" : JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : reference(item))).join(",")}]`
  const record = value as Record<string, unknown>
  const members = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`)
  return `{${members.join(",")}}`
}

describe("canonicalJson", () => {
  it("writes exactly the canonical form the cache keys were made with (property)", () => {
    fc.assert(
      fc.property(fc.anything({ withObjectString: false, withNullPrototype: false, withBoxedValues: false, withMap: false, withSet: false, withDate: false, withTypedArray: false, withSparseArray: true }), (value) => {
        assert.strictEqual(canonicalJson(value), reference(value))
      }),
      { numRuns: 500 }
    )
  })
})
