import { assert, describe, it } from "@effect/vitest"
import { cacheKey, canonicalJson, canonicalRequest } from "@modelgate/core/ResponseCache"
import type { ChatRequest } from "@modelgate/domain/Chat"
import * as fc from "fast-check"
import { request } from "./ResponseCacheFixtures.js"

const numRuns = 200

/** Requests over the parameters that change output, with nested objects. */
const arbRequest: fc.Arbitrary<ChatRequest> = fc
  .record(
    {
      messages: fc.array(
        fc.oneof(
          fc.record({ role: fc.constant("user" as const), content: fc.string({ maxLength: 20 }) }),
          fc.record({ role: fc.constant("system" as const), content: fc.string({ maxLength: 20 }) }),
          fc.record({
            role: fc.constant("user" as const),
            content: fc.array(fc.record({ type: fc.constant("text" as const), text: fc.string({ maxLength: 10 }) }), {
              minLength: 1,
              maxLength: 3
            })
          })
        ),
        { minLength: 1, maxLength: 3 }
      ),
      tools: fc.array(
        fc.record({
          type: fc.constant("function" as const),
          function: fc.record({
            name: fc.stringMatching(/^[a-z]{1,6}$/),
            parameters: fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
          })
        }),
        { maxLength: 2 }
      ),
      temperature: fc.constantFrom(0, 0.5, 1, 2),
      top_p: fc.constantFrom(0.1, 0.9, 1),
      max_tokens: fc.integer({ min: 1, max: 4096 }),
      stop: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
      response_format: fc.constantFrom({ type: "text" as const }, { type: "json_object" as const }),
      seed: fc.integer({ min: -1000, max: 1000 }),
      n: fc.integer({ min: 1, max: 4 }),
      frequency_penalty: fc.constantFrom(-1, 0, 1),
      presence_penalty: fc.constantFrom(-1, 0, 1),
      logit_bias: fc.dictionary(fc.stringMatching(/^[0-9]{1,5}$/), fc.integer({ min: -100, max: 100 }), { maxKeys: 3 }),
      reasoning_effort: fc.constantFrom("low", "medium", "high")
    },
    { requiredKeys: ["messages"] }
  )
  .map((fields) => ({ model: "auto", ...fields }) as unknown as ChatRequest)

/** A deterministic shuffle of every object's keys, arrays left in order. */
const permuteKeys = (value: unknown, seed: number): unknown => {
  let state = seed >>> 0 || 1
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    return state
  }
  const go = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(go)
    if (node === null || typeof node !== "object") return node
    const keys = Object.keys(node)
    for (let i = keys.length - 1; i > 0; i--) {
      const j = next() % (i + 1)
      const swap = keys[i]!
      keys[i] = keys[j]!
      keys[j] = swap
    }
    const out: Record<string, unknown> = {}
    // defineProperty, not assignment: a "__proto__" key must stay an own key (as JSON.parse makes it)
    for (const key of keys) {
      Object.defineProperty(out, key, { value: go((node as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return go(value)
}

describe("ResponseCache key", () => {
  it("is a SHA-256 hex digest", () => {
    assert.match(cacheKey(request("hi"), "gpt-4o-mini"), /^[0-9a-f]{64}$/)
  })

  it("is the same whatever the JSON key order (property)", () => {
    fc.assert(
      fc.property(arbRequest, fc.integer(), (req, seed) => {
        const permuted = permuteKeys(req, seed) as ChatRequest
        assert.strictEqual(cacheKey(permuted, "m"), cacheKey(req, "m"))
      }),
      { numRuns }
    )
  })

  it("differs for distinct canonical requests (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbRequest, { minLength: 2, maxLength: 20, selector: (req) => canonicalJson(canonicalRequest(req, "m")) }),
        (requests) => {
          const keys = new Set(requests.map((req) => cacheKey(req, "m")))
          assert.strictEqual(keys.size, requests.length)
        }
      ),
      { numRuns }
    )
  })

  it("changes when any output-changing parameter changes (property)", () => {
    const changes: ReadonlyArray<(req: ChatRequest) => ChatRequest> = [
      (req) => ({ ...req, temperature: (req.temperature ?? 1) === 0 ? 0.3 : 0 }),
      (req) => ({ ...req, top_p: req.top_p === 0.5 ? 0.25 : 0.5 }),
      (req) => ({ ...req, max_tokens: (req.max_tokens ?? 0) + 1 }),
      (req) => ({ ...req, max_completion_tokens: 77 }),
      (req) => ({ ...req, seed: (req.seed ?? 0) + 1 }),
      (req) => ({ ...req, n: (req.n ?? 1) + 1 }),
      (req) => ({ ...req, stop: [...(typeof req.stop === "string" ? [req.stop] : (req.stop ?? [])), "END"] }),
      (req) => ({ ...req, response_format: { type: "json_schema", json_schema: { name: "x" } } }),
      (req) => ({ ...req, tool_choice: "required" }),
      (req) => ({ ...req, parallel_tool_calls: !(req.parallel_tool_calls ?? true) }),
      (req) => ({ ...req, frequency_penalty: req.frequency_penalty === 1.5 ? 1.25 : 1.5 }),
      (req) => ({ ...req, presence_penalty: req.presence_penalty === 1.5 ? 1.25 : 1.5 }),
      (req) => ({ ...req, logit_bias: { ...req.logit_bias, abc: 5 } }),
      (req) => ({ ...req, reasoning_effort: req.reasoning_effort === "minimal" ? "high" : "minimal" }),
      (req) => ({ ...req, messages: [...req.messages, { role: "user", content: "and?" }] }),
      (req) => ({
        ...req,
        tools: [...(req.tools ?? []), { type: "function", function: { name: "zzz_added", parameters: {} } }]
      })
    ]
    fc.assert(
      fc.property(arbRequest, fc.integer({ min: 0, max: changes.length - 1 }), (req, which) => {
        assert.notStrictEqual(cacheKey(changes[which]!(req), "m"), cacheKey(req, "m"))
      }),
      { numRuns }
    )
  })

  it("depends on the answering model, not on the requested alias", () => {
    const req = request("hello")
    assert.notStrictEqual(cacheKey(req, "gpt-4o-mini"), cacheKey(req, "claude-haiku"))
    assert.strictEqual(cacheKey({ ...req, model: "auto" }, "gpt-4o-mini"), cacheKey(req, "gpt-4o-mini"))
  })

  it("ignores stream, stream_options, user and metadata", () => {
    const req = request("hello")
    const streamed: ChatRequest = {
      ...req,
      stream: true,
      stream_options: { include_usage: true },
      user: "alice",
      metadata: { trace: "1" }
    }
    assert.strictEqual(cacheKey(streamed, "m"), cacheKey(req, "m"))
  })

  it("keys OpenAI parameters modelgate does not model as they are: another value is another key, none is the old key", () => {
    const req = request("hello", { temperature: 0 })
    const withTier = (tier: unknown) => ({ ...req, service_tier: tier }) as ChatRequest
    assert.notStrictEqual(cacheKey(withTier("flex"), "m"), cacheKey(req, "m"))
    assert.notStrictEqual(cacheKey(withTier("flex"), "m"), cacheKey(withTier("priority"), "m"))
    assert.strictEqual(cacheKey(withTier("flex"), "m"), cacheKey(withTier("flex"), "m"))
    assert.strictEqual(cacheKey(withTier(null), "m"), cacheKey(req, "m"))
    // An extra named like a member of the canonical form cannot stand in for it.
    assert.notStrictEqual(cacheKey({ ...req, v: 1 } as ChatRequest, "m"), cacheKey(req, "m"))
  })

  it("ignores the OpenAI parameters that only label or store a call (store, safety_identifier, prompt_cache_key, prompt_cache_retention)", () => {
    const req = request("hello", { temperature: 0 })
    const labelled = {
      ...req,
      store: true,
      safety_identifier: "user-123",
      prompt_cache_key: "session-9",
      prompt_cache_retention: "24h"
    } as ChatRequest
    assert.strictEqual(cacheKey(labelled, "m"), cacheKey(req, "m"))
    assert.strictEqual(cacheKey({ ...labelled, prompt_cache_key: "session-10" } as ChatRequest, "m"), cacheKey(req, "m"))
  })

  it("treats OpenAI's defaults like absent (n: 1; tool_choice auto with tools, none without), and no other value", () => {
    const req = request("hello", { temperature: 0 })
    const tools: ChatRequest["tools"] = [{ type: "function", function: { name: "get_weather", parameters: {} } }]
    const withTools: ChatRequest = { ...req, tools }
    assert.strictEqual(cacheKey({ ...req, n: 1 }, "m"), cacheKey(req, "m"))
    assert.notStrictEqual(cacheKey({ ...req, n: 2 }, "m"), cacheKey(req, "m"))
    assert.strictEqual(cacheKey({ ...withTools, tool_choice: "auto" }, "m"), cacheKey(withTools, "m"))
    assert.strictEqual(cacheKey({ ...req, tool_choice: "none" }, "m"), cacheKey(req, "m"))
    // Not the default: with tools, "none" and "required" ask for something else.
    assert.notStrictEqual(cacheKey({ ...withTools, tool_choice: "none" }, "m"), cacheKey(withTools, "m"))
    assert.notStrictEqual(cacheKey({ ...withTools, tool_choice: "required" }, "m"), cacheKey(withTools, "m"))
    assert.notStrictEqual(cacheKey({ ...withTools, tools: [], tool_choice: "auto" }, "m"), cacheKey({ ...withTools, tools: [] }, "m"))
  })

  it("treats null like absent and a single stop string like a one-element list", () => {
    const req = request("hello", { temperature: 0 })
    assert.strictEqual(cacheKey({ ...req, seed: null, top_p: null }, "m"), cacheKey(req, "m"))
    assert.strictEqual(cacheKey({ ...req, stop: "END" }, "m"), cacheKey({ ...req, stop: ["END"] }, "m"))
  })
})
