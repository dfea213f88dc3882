import { assert, describe, it } from "@effect/vitest"
import { deepMerge, isPlainObject } from "@modelgate/core/GatewayConfig/Merge"
import { FastCheck as fc } from "effect"

const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<unknown>
const object = fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 6 }) as fc.Arbitrary<unknown>

/** Every leaf (a non-object value) of `doc` with its path. */
const leaves = (doc: unknown, path: ReadonlyArray<string> = []): Array<[ReadonlyArray<string>, unknown]> =>
  isPlainObject(doc) && Object.keys(doc).length > 0
    ? Object.entries(doc).flatMap(([k, v]) => leaves(v, [...path, k]))
    : [[path, doc]]

const at = (doc: unknown, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((d, k) => (isPlainObject(d) && Object.hasOwn(d, k) ? d[k] : undefined), doc)

/** Whether `path` (or a prefix of it) is set in `doc` to a non-object, or reaches through to it. */
const touched = (doc: unknown, path: ReadonlyArray<string>): boolean => {
  let d = doc
  for (const k of path) {
    if (!isPlainObject(d) || !Object.hasOwn(d, k)) return false
    d = d[k]
    if (!isPlainObject(d)) return true
  }
  return true
}

describe("deepMerge (environment overlays)", () => {
  it.prop("every overlay leaf wins", [object, object], ([base, overlay]) => {
    const merged = deepMerge(base, overlay)
    for (const [path, value] of leaves(overlay)) {
      if (path.length === 0) continue
      const got = at(merged, path)
      // An empty object sets nothing (objects merge): the base's object, if any, stays as it was.
      if (isPlainObject(value)) assert.isTrue(isPlainObject(got))
      else assert.deepStrictEqual(got, value)
    }
  }, { fastCheck: { numRuns: 200 } })

  it("an empty object in an overlay keeps the base's object", () => {
    assert.deepStrictEqual(deepMerge({ "": { "": 0 } }, { "": {} }), { "": { "": 0 } })
    assert.deepStrictEqual(deepMerge({ a: 1 }, { a: {} }), { a: {} })
  })

  it.prop("every base leaf the overlay does not touch survives", [object, object], ([base, overlay]) => {
    const merged = deepMerge(base, overlay)
    for (const [path, value] of leaves(base)) {
      if (path.length > 0 && !touched(overlay, path)) assert.deepStrictEqual(at(merged, path), value)
    }
  }, { fastCheck: { numRuns: 200 } })

  it.prop("the result has no key that neither input has, and merging twice changes nothing", [object, object], ([base, overlay]) => {
    const merged = deepMerge(base, overlay)
    for (const [path] of leaves(merged)) {
      if (path.length > 0) assert.isTrue(at(base, path) !== undefined || at(overlay, path) !== undefined)
    }
    assert.deepStrictEqual(deepMerge(merged, overlay), merged)
  }, { fastCheck: { numRuns: 200 } })

  it.prop("inputs are not modified; empty overlays are identities", [object, object], ([base, overlay]) => {
    const before = JSON.stringify([base, overlay])
    deepMerge(base, overlay)
    assert.strictEqual(JSON.stringify([base, overlay]), before)
    assert.deepStrictEqual(deepMerge(base, {}), base)
    assert.deepStrictEqual(deepMerge({}, overlay), overlay)
  }, { fastCheck: { numRuns: 200 } })

  it("arrays and scalars replace, objects merge", () => {
    assert.deepStrictEqual(
      deepMerge({ a: { b: 1, c: [1, 2] }, d: "x" }, { a: { c: [3] }, d: { e: 1 } }),
      { a: { b: 1, c: [3] }, d: { e: 1 } }
    )
  })
})
