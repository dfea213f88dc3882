/**
 * The request path's records are built by `uncheckedRecord` instead of the
 * Schema class constructor (with validation off): the instance must be the
 * one the constructor makes, whatever optional fields are present, absent or
 * undefined: equal, the same own keys in the same order, the same prototype,
 * the same encoding, and accepted by the class's Schema.
 */
import { assert, describe, it } from "@effect/vitest"
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
    fc.record({ promptTokens: count, completionTokens: count, cachedTokens: count, costPicoUsd: count, cacheHit: fc.boolean() })
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

// Keys and values first: `Equal.equals` caches a hash on each instance (an own symbol key).
const sameAsConstructor = (built: object, made: object) => {
  assert.deepStrictEqual(Reflect.ownKeys(built), Reflect.ownKeys(made))
  assert.isTrue(Object.getPrototypeOf(built) === Object.getPrototypeOf(made), "same prototype")
  for (const key of Reflect.ownKeys(made)) {
    assert.isTrue(Object.is((built as Record<PropertyKey, unknown>)[key], (made as Record<PropertyKey, unknown>)[key]), `same ${String(key)}`)
  }
  assert.isTrue(Equal.equals(built, made))
}

describe("uncheckedRecord", () => {
  it("builds the CostRecord the constructor builds", () =>
    fc.assert(
      fc.property(costProps, (props) => {
        const built = uncheckedRecord(CostRecord, props as ConstructorParameters<typeof CostRecord>[0])
        const made = new CostRecord(props as ConstructorParameters<typeof CostRecord>[0], true)
        sameAsConstructor(built, made)
        assert.instanceOf(built, CostRecord)
        assert.isTrue(Schema.is(CostRecord)(built))
        assert.deepStrictEqual(Schema.encodeSync(CostRecord)(built), Schema.encodeSync(CostRecord)(made))
      }),
      { numRuns: 200 }
    ))

  it("builds the PerformanceRecord the constructor builds", () =>
    fc.assert(
      fc.property(performanceProps, (props) => {
        const built = uncheckedRecord(PerformanceRecord, props as ConstructorParameters<typeof PerformanceRecord>[0])
        const made = new PerformanceRecord(props as ConstructorParameters<typeof PerformanceRecord>[0], true)
        sameAsConstructor(built, made)
        assert.instanceOf(built, PerformanceRecord)
        assert.isTrue(Schema.is(PerformanceRecord)(built))
        assert.deepStrictEqual(Schema.encodeSync(PerformanceRecord)(built), Schema.encodeSync(PerformanceRecord)(made))
      }),
      { numRuns: 200 }
    ))
})
