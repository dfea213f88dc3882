/**
 * A `response_format` json_schema sent to Claude as `output_config.format`:
 * Anthropic's structured outputs take a narrower JSON Schema than OpenAI's
 * (every object closed with `additionalProperties: false`; no numeric,
 * string-length or array-size constraints beyond `minItems` 0 or 1, each a
 * 400), where OpenAI takes an open object without `strict` and the
 * constraints a Zod or Pydantic schema carries. The schema is sent as
 * Anthropic's SDK sends it (objects closed, the constraints moved into the
 * description); an object open to any keys (a map) is refused before the
 * call, as closing it would leave the model only `{}` to answer.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import { validateMessages } from "@modelgate/testkit/FakeAnthropic/validate"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import { adapterOver, ctxOf, keyOf, lastJson, live, modelOf } from "./internal/fixtures.js"

const model = modelOf("anthropic", "claude-sonnet-4-5")
const key = keyOf("anthropic", FakeAnthropic.defaultApiKey)

/** A schema as zod-to-json-schema writes `z.object({ name: z.string().min(1), age: z.number().int().min(0), address: z.object(...) })`, sent without `strict`. */
const zodLike = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, description: "full name" },
    age: { type: "integer", minimum: 0, maximum: 150 },
    tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 3 },
    address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    owner: { $ref: "#/$defs/Person" }
  },
  required: ["name", "age"],
  $defs: { Person: { type: "object", properties: { name: { type: "string" } } } }
}

const asking = (schema: Record<string, unknown>, strict?: boolean): Partial<ChatRequest> => ({
  response_format: { type: "json_schema", json_schema: { name: "person", schema, ...(strict !== undefined ? { strict } : {}) } }
})

describe("Anthropic: a JSON schema response format", () => {
  it("the fake refuses what the Messages API refuses in output_config.format.schema", () => {
    const body = (schema: unknown) => ({
      model: "m",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
      output_config: { format: { type: "json_schema", schema } }
    })
    assert.include(validateMessages(body({ type: "object", properties: {} })) ?? "", "'additionalProperties' must be explicitly set to false")
    assert.include(validateMessages(body(zodLike)) ?? "", "output_config.format.schema")
    const closed = { type: "object", properties: { n: { type: "integer", minimum: 0 } }, additionalProperties: false }
    assert.include(validateMessages(body(closed)) ?? "", "property 'minimum' is not supported")
    assert.isUndefined(validateMessages(body({ ...closed, properties: { n: { type: "integer" } } })))
  })

  it.scoped("a Zod-like schema is sent closed, its constraints in the descriptions, and answered", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)()
      const answer = yield* provider.chat(ctxOf(model, key, asking(zodLike)))
      assert.strictEqual(answer.response.choices[0].finish_reason, "stop")
      const sent = ((yield* lastJson(fake))["output_config"] as { format: { schema: Record<string, any> } }).format.schema
      assert.strictEqual(sent.additionalProperties, false)
      assert.strictEqual(sent.properties.address.additionalProperties, false)
      assert.strictEqual(sent.$defs.Person.additionalProperties, false)
      assert.deepStrictEqual(sent.properties.owner, { $ref: "#/$defs/Person" })
      assert.deepStrictEqual(sent.required, ["name", "age"])
      assert.deepStrictEqual(sent.properties.name, { type: "string", description: "full name\n\n{minLength: 1}" })
      assert.deepStrictEqual(sent.properties.age, { type: "integer", description: "{minimum: 0, maximum: 150}" })
      assert.deepStrictEqual(sent.properties.tags, { type: "array", items: { type: "string" }, minItems: 1, description: "{maxItems: 3}" })
      // The client's schema itself is left as it was (it may be sent on to another provider after a failover).
      assert.strictEqual(zodLike.properties.name.minLength, 1)
      assert.notProperty(zodLike, "additionalProperties")
    })))

  it.scoped("an OpenAI strict schema with a string bound is answered", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)()
      const strict = {
        type: "object",
        properties: { code: { type: "string", maxLength: 8 }, note: { anyOf: [{ type: "string" }, { type: "null" }] } },
        required: ["code", "note"],
        additionalProperties: false
      }
      const answer = yield* provider.chat(ctxOf(model, key, asking(strict, true)))
      assert.strictEqual(answer.response.choices[0].finish_reason, "stop")
    })))

  it.scoped("an object open to any keys is refused before the call, naming response_format", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)()
      const refusal = (schema: Record<string, unknown>) =>
        provider.cannotServe?.({ model: "m", messages: [{ role: "user", content: "hi" }], ...asking(schema) }, model)
      const map = { type: "object", properties: { scores: { type: "object", additionalProperties: { type: "number" } } } }
      assert.strictEqual(refusal(map)?.param, "response_format")
      assert.include(refusal(map)?.reason ?? "", "additionalProperties")
      assert.strictEqual(refusal({ type: "object", additionalProperties: true })?.param, "response_format")
      // An object with no properties is any object (OpenAI without strict): closed, only {} would be left.
      assert.strictEqual(refusal({ type: "object", properties: { meta: { type: "object" } } })?.param, "response_format")
      assert.isUndefined(refusal({ type: "object", properties: { meta: { type: "object", properties: {}, additionalProperties: false } } }))
      assert.isUndefined(refusal(zodLike))
    })))
})
