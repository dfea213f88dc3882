/**
 * The request path's records and its per-request event (ModelSelected) are
 * built by `uncheckedRecord` instead of the Schema class constructor (with
 * validation off): the instance must be the
 * one the constructor makes, whatever optional fields are present, absent or
 * undefined: equal, the same own keys in the same order, the same prototype,
 * the same encoding, and accepted by the class's Schema.
 */
import { assert, describe, it } from "@effect/vitest"
import { ModelSelected } from "@modelgate/domain/Events"
import { CostRecord, PerformanceRecord } from "@modelgate/domain/Records"
import { Equal, FastCheck as fc, Schema } from "effect"

import { uncheckedRecord } from "../src/Gateway/Accounting.js"

/** An optional field: absent, present as undefined, or a value. */
const optional = <A>(key: string, value: fc.Arbitrary<A>): fc.Arbitrary<Record<string, A | undefined>> =>
  fc.oneof(fc.constant({}), fc.constant({ [key]: undefined }), value.map((v) => ({ [key]: v })))

const count = fc.nat({ max: 1_000_000 })
const name = fc.string({ maxLength: 12 })

const costProps = fc
  .tuple(
    fc.record({ at: count, requestId: name, model: name, provider: name }),
    optional("apiKeyId", name),
    optional("agentType", name),
    optional("taskType", name),
    fc.record({ promptTokens: count, completionTokens: count, cachedTokens: count, cacheWriteTokens: count, reasoningTokens: count, costPicoUsd: count, cacheHit: fc.boolean() })
  )
  .map(([head, key, agent, task, tail]) => ({ ...head, ...key, ...agent, ...task, ...tail }))

const performanceProps = fc
  .tuple(
    fc.record({ at: count, requestId: name, model: name, provider: name }),
    optional("agentType", name),
    fc.record({ latencyMs: count }),
    optional("timeToFirstTokenMs", count),
    fc.record({ success: fc.boolean() }),
    optional("errorClass", name),
    fc.record({ outputTokens: count, streamed: fc.boolean(), cacheHit: fc.boolean() })
  )
  .map((parts) => Object.assign({}, ...parts) as Record<string, unknown>)

const selectedProps = fc
  .tuple(
    fc.record({ at: count }),
    optional("requestId", name),
    optional("agentType", name),
    fc.record({ model: name, score: fc.double({ noNaN: true }), reason: name })
  )
  .map((parts) => Object.assign({}, ...parts) as Record<string, unknown>)

// Keys and values first: `Equal.equals` caches a hash on each instance (an own symbol key).
const sameAsConstructor = (built: object, made: object) => {
  assert.deepStrictEqual(Reflect.ownKeys(built), Reflect.ownKeys(made))
  assert.isTrue(Object.getPrototypeOf(built) === Object.getPrototypeOf(made), "same prototype")
  for (const key of Reflect.ownKeys(made)) {
    assert.isTrue(Object.is((built as Record<PropertyKey, unknown>)[key], (made as Record<PropertyKey, unknown>)[key]), `same ${String(key)}`)
  }
  assert.isTrue(Equal.equals(built, made))
}

/** The property for one record or event class: over generated props, `uncheckedRecord` builds what the constructor builds. */
const holdsToConstructor = <A extends { readonly _tag: string }, I>(
  Class: Schema.Schema<A, I, never> & { readonly prototype: A; readonly _tag: A["_tag"] } & (new(props: never, disableValidation: true) => A),
  props: fc.Arbitrary<Record<string, unknown>>
) =>
  fc.assert(
    fc.property(props, (p) => {
      const built = uncheckedRecord(Class, p as Omit<A, "_tag">)
      const made = new Class(p as never, true)
      sameAsConstructor(built, made)
      assert.isTrue(built instanceof Class, "an instance of the class")
      assert.isTrue(Schema.is(Class)(built))
      assert.deepStrictEqual(Schema.encodeSync(Class)(built), Schema.encodeSync(Class)(made))
    }),
    { numRuns: 200 }
  )

describe("uncheckedRecord", () => {
  it("builds the CostRecord the constructor builds", () => holdsToConstructor(CostRecord, costProps))

  it("builds the PerformanceRecord the constructor builds", () => holdsToConstructor(PerformanceRecord, performanceProps))

  it("builds the ModelSelected event the constructor builds", () => holdsToConstructor(ModelSelected, selectedProps))
})
