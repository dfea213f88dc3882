/**
 * A tool an OpenAI client marks `strict: true` goes to Claude as a plain
 * tool (its schema as the client wrote it, no `strict`), on purpose:
 * Anthropic's strict tools refuse the whole request with a 400 on a model
 * without them ("'claude-sonnet-4-20250514' does not support strict
 * tools."), over 20 strict tools or 16 union-typed parameters (OpenAI's
 * strict way to write an optional field, `["string", "null"]`, is one), and
 * past an undocumented size of the compiled grammar ("The compiled grammar
 * is too large"), all of which an agent that marks every tool strict (the
 * OpenAI Agents SDK's default) reaches. Sent plain, such an agent is served.
 * https://platform.claude.com/docs/en/agents-and-tools/tool-use/strict-tool-use
 */
import { assert, describe, it } from "@effect/vitest"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import { adapterOver, ctxOf, keyOf, lastJson, live, modelOf } from "./internal/fixtures.js"

const model = modelOf("anthropic", "claude-sonnet-4-5")
const key = keyOf("anthropic", FakeAnthropic.defaultApiKey)

/** A strict OpenAI function tool, as the `openai` SDK's `zodFunction` writes one (closed, every property required, nullable fields, a bound kept). */
const form = {
  type: "object",
  properties: {
    passengers: { type: "integer", minimum: 1 },
    ...Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`note${i}`, { type: ["string", "null"] }]))
  },
  required: ["passengers", ...Array.from({ length: 17 }, (_, i) => `note${i}`)],
  additionalProperties: false
}

describe("Anthropic: strict tools", () => {
  it.scoped("21 strict tools go as plain tools, their schemas as written, and are answered", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* adapterOver(FakeAnthropic.make, Anthropic.make)()
      const tools = Array.from({ length: 21 }, (_, i) => ({ type: "function" as const, function: { name: `t${i}`, parameters: form, strict: true } }))
      const answer = yield* provider.chat(ctxOf(model, key, { tools }))
      assert.lengthOf(answer.response.choices, 1)
      const sent = (yield* lastJson(fake))["tools"] as Array<Record<string, unknown>>
      assert.lengthOf(sent, 21)
      for (const tool of sent) {
        assert.notProperty(tool, "strict")
        assert.deepStrictEqual(tool["input_schema"], form)
      }
    })))
})
