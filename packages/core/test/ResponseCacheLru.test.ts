import { assert, describe, it } from "@effect/vitest"
import { Lru } from "@modelgate/core/ResponseCache/Lru"
import * as fc from "fast-check"

type Op = { readonly op: "set"; readonly key: string; readonly bytes: number } | { readonly op: "get"; readonly key: string }

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), key: fc.constantFrom("a", "b", "c", "d", "e", "f"), bytes: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ op: fc.constant("get" as const), key: fc.constantFrom("a", "b", "c", "d", "e", "f") })
)

describe("Lru (the memory tier)", () => {
  it("matches a recency-list model, evicts least recently used first and never exceeds its bounds (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 10, max: 150 }),
        fc.array(arbOp, { maxLength: 60 }),
        (maxEntries, maxBytes, ops) => {
          const lru = new Lru<string>()
          let model: Array<{ key: string; bytes: number }> = []
          for (const step of ops) {
            if (step.op === "get") {
              const found = lru.get(step.key, 0)
              const index = model.findIndex((entry) => entry.key === step.key)
              assert.strictEqual(found !== undefined, index >= 0)
              if (index >= 0) model = [...model.filter((entry) => entry.key !== step.key), model[index]!]
            } else {
              const evicted = lru.set(step.key, { value: step.key, bytes: step.bytes, expiresAt: 1 }, maxEntries, maxBytes)
              model = model.filter((entry) => entry.key !== step.key)
              const expectedEvicted: Array<string> = []
              if (step.bytes <= maxBytes) {
                model.push({ key: step.key, bytes: step.bytes })
                const total = () => model.reduce((sum, entry) => sum + entry.bytes, 0)
                while (model.length > maxEntries || total() > maxBytes) expectedEvicted.push(model.shift()!.key)
              }
              assert.deepStrictEqual(evicted, expectedEvicted, "evicted oldest first")
            }
            assert.deepStrictEqual(lru.keys(), model.map((entry) => entry.key))
            assert.isAtMost(lru.size, maxEntries)
            assert.isAtMost(lru.bytes, maxBytes)
            assert.strictEqual(lru.bytes, model.reduce((sum, entry) => sum + entry.bytes, 0))
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it("reports and drops an expired entry on read; sweep drops every expired one", () => {
    const lru = new Lru<string>()
    lru.set("a", { value: "a", bytes: 1, expiresAt: 100 }, 10, 100)
    lru.set("b", { value: "b", bytes: 2, expiresAt: 200 }, 10, 100)
    lru.set("c", { value: "c", bytes: 3, expiresAt: 300 }, 10, 100)
    assert.strictEqual(lru.get("a", 99) !== undefined && lru.get("a", 99) !== "expired", true)
    assert.strictEqual(lru.get("a", 100), "expired")
    assert.isFalse(lru.has("a"))
    assert.deepStrictEqual(lru.sweep(250), ["b"])
    assert.deepStrictEqual(lru.keys(), ["c"])
    assert.strictEqual(lru.bytes, 3)
  })
})
