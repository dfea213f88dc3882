import type { Sse } from "@effect/experimental"
import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ChatChunk, ChatMessage, ChatResponse } from "@modelgate/domain/Chat"
import { isUnreachable, ProviderError } from "@modelgate/domain/ProviderError"
import { Arbitrary, Either, FastCheck, Option, Schema } from "effect"
import * as fc from "fast-check"
import { classifyGoogle, retryDelayOf } from "../src/Google/Errors.js"
import { toGeminiRequest, translateContents } from "../src/Google/Request.js"
import { finishReasonOf, fromGeminiResponse, type GeminiResponse } from "../src/Google/Response.js"
import { GeminiStreamTranslator } from "../src/Google/Stream.js"
import { classifyStatus } from "../src/internal/errors.js"
import { ctxOf, errorContextOf, modelOf } from "./internal/fixtures.js"

const info = { model: "gemini-test", keyId: "google#1", secrets: ["AIzaSecretSecret123456"] }
const fields = { provider: "google", model: "gemini-test", status: 200, requestId: undefined, rateLimit: undefined }

const errorCtx = (status: number, body: string) => errorContextOf("google", info, status, body)

const normalise = (response: GeminiResponse) =>
  fromGeminiResponse(response, { nowMs: 10_000, model: "gemini-x", promptTokensEstimate: () => 7, fields })

const data = (value: unknown): Sse.Event => ({ _tag: "Event", event: "message", id: undefined, data: JSON.stringify(value) })

const run = (events: ReadonlyArray<Sse.Event>) => {
  const t = new GeminiStreamTranslator({
    provider: "google",
    info,
    meta: { status: 200, headers: Headers.empty, requestId: undefined, rateLimit: undefined },
    nowMs: 10_000,
    model: "gemini-x",
    promptTokensEstimate: () => 7
  })
  const chunks: Array<ChatChunk> = []
  for (const e of events) {
    const out = t.push(e)
    if (Either.isLeft(out)) return Either.left(out.left)
    chunks.push(...out.right)
  }
  const end = t.end()
  return Either.isLeft(end) ? Either.left(end.left) : Either.right([...chunks, ...end.right])
}

const textChunk = (text: string, extra: Record<string, unknown> = {}) => ({
  candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0, ...extra }],
  responseId: "r1",
  modelVersion: "gemini-x-001"
})

describe("Gemini request translation", () => {
  it("roles user/model, systemInstruction, consecutive turns merged, tool results named from the call", () => {
    const out = translateContents([
      { role: "system", content: "rule" },
      { role: "user", content: "a" },
      { role: "user", content: "b" },
      { role: "assistant", content: "sure", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{\"x\":1}" } }] },
      { role: "tool", tool_call_id: "c1", content: "{\"ok\":true}" },
      { role: "tool", tool_call_id: "c1", content: "plain" }
    ])
    const right = Either.getOrThrow(out)
    assert.strictEqual(right.system, "rule")
    assert.deepStrictEqual(right.contents, [
      { role: "user", parts: [{ text: "a" }, { text: "b" }] },
      { role: "model", parts: [{ text: "sure" }, { functionCall: { name: "f", args: { x: 1 } } }] },
      { role: "user", parts: [{ functionResponse: { name: "f", response: { ok: true } } }, { functionResponse: { name: "f", response: { output: "plain" } } }] }
    ])
    const orphan = translateContents([{ role: "tool", tool_call_id: "nope", content: "x" }])
    assert.isTrue(Either.isLeft(orphan))
  })

  it("generationConfig carries only Gemini fields; tool_choice maps to functionCallingConfig", () => {
    const model = modelOf("google", "gemini-fake")
    const tools = [{ type: "function" as const, function: { name: "f" } }]
    const body = Either.getOrThrow(toGeminiRequest(ctxOf(model, undefined, {
      tools,
      tool_choice: "none",
      response_format: { type: "json_object" },
      seed: 3,
      n: 2,
      user: "ignored"
    }).request, { provider: "google", model: "m" }))
    assert.deepStrictEqual(body.generationConfig, { candidateCount: 2, seed: 3, responseMimeType: "application/json" })
    assert.deepStrictEqual(body.toolConfig, { functionCallingConfig: { mode: "NONE" } })
    assert.deepStrictEqual(body.tools, [{ functionDeclarations: [{ name: "f" }] }])
    assert.deepStrictEqual(Object.keys(body).sort(), ["contents", "generationConfig", "toolConfig", "tools"])
  })

  it("property: any message list becomes alternating user/model contents with non-empty parts, or fails with a reason", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(Arbitrary.make(ChatMessage), { minLength: 1, maxLength: 8 }), (messages) => {
        const out = translateContents(messages)
        if (Either.isLeft(out)) {
          assert.isTrue(out.left.detail.length > 0)
          return
        }
        const roles = out.right.contents.map((c) => c.role)
        roles.forEach((role, i) => assert.notStrictEqual(role, roles[i - 1]))
        for (const content of out.right.contents) {
          assert.isTrue(content.parts.length > 0)
          for (const part of content.parts) {
            assert.strictEqual(Object.keys(part).length, 1)
            if ("text" in part) assert.notStrictEqual(part.text, "")
          }
        }
      }),
      { numRuns: 200 }
    )
  })
})

const count = fc.nat({ max: 1_000_000 })
const part = fc.oneof(
  fc.record({ text: fc.string(), thought: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ["text"] }),
  fc.record({
    functionCall: fc.record({ name: fc.string(), args: fc.dictionary(fc.string(), fc.jsonValue()), id: fc.string() }, { requiredKeys: ["name"] })
  })
)
const geminiResponse = fc.record({
  candidates: fc.array(
    fc.record({
      content: fc.record({ role: fc.constant("model"), parts: fc.array(part, { minLength: 1, maxLength: 4 }) }),
      finishReason: fc.constantFrom("STOP", "MAX_TOKENS", "OTHER", "LANGUAGE", "CONTINUATION", "SAFETY", "RECITATION"),
      index: fc.option(fc.nat({ max: 4 }), { nil: undefined })
    }, { requiredKeys: ["content", "finishReason"] }),
    { minLength: 1, maxLength: 3 }
  ),
  usageMetadata: fc.option(
    fc.record({
      promptTokenCount: count,
      cachedContentTokenCount: count,
      candidatesTokenCount: count,
      toolUsePromptTokenCount: count,
      thoughtsTokenCount: count,
      totalTokenCount: count
    }, { requiredKeys: [] }),
    { nil: undefined }
  ),
  modelVersion: fc.option(fc.string(), { nil: undefined }),
  responseId: fc.option(fc.string(), { nil: undefined })
}, { requiredKeys: ["candidates"] }) as fc.Arbitrary<GeminiResponse>

describe("Gemini response normalisation", () => {
  it("property: any valid Gemini response with content normalises to a valid ChatResponse", () => {
    fc.assert(
      fc.property(geminiResponse, (wire) => {
        const out = normalise(wire)
        // A safety stop, with text or without, is a content_filter choice: never an error.
        if (Either.isLeft(out)) return assert.fail(`normalised to ${out.left._tag}`)
        const response = out.right
        assert.isTrue(Schema.is(ChatResponse)(response))
        assert.strictEqual(response.choices.length, wire.candidates!.length)
        const u = wire.usageMetadata
        if (u === undefined) assert.isTrue(response.usage.estimated)
        else {
          assert.strictEqual(response.usage.prompt_tokens, (u.promptTokenCount ?? 0) + (u.toolUsePromptTokenCount ?? 0))
          assert.strictEqual(response.usage.completion_tokens, (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0))
          assert.strictEqual(response.usage.prompt_tokens_details?.cached_tokens, u.cachedContentTokenCount ?? 0)
          assert.isAtLeast(response.usage.total_tokens, response.usage.prompt_tokens + response.usage.completion_tokens)
        }
        wire.candidates!.forEach((c, i) => {
          const calls = c.content!.parts!.filter((p) => p.functionCall !== undefined).length
          const choice = response.choices[i]!
          assert.strictEqual(choice.message.tool_calls?.length ?? 0, calls)
          if (calls > 0 && !["SAFETY", "RECITATION"].includes(c.finishReason!)) assert.strictEqual(choice.finish_reason, "tool_calls")
          if (["SAFETY", "RECITATION"].includes(c.finishReason!)) assert.strictEqual(choice.finish_reason, "content_filter")
          const visible = c.content!.parts!.filter((p) => p.text !== undefined && p.thought !== true).map((p) => p.text).join("")
          assert.strictEqual(choice.message.content ?? "", visible)
        })
      }),
      { numRuns: 200 }
    )
  })

  it("finish reasons, thought parts, blocked prompts and missing candidates", () => {
    assert.strictEqual(finishReasonOf("STOP", false), "stop")
    assert.strictEqual(finishReasonOf("STOP", true), "tool_calls")
    assert.strictEqual(finishReasonOf("MAX_TOKENS", false), "length")
    assert.strictEqual(finishReasonOf("PROHIBITED_CONTENT", true), "content_filter")
    assert.strictEqual(finishReasonOf("SPII", false), "content_filter")
    assert.isUndefined(finishReasonOf("TOO_MANY_TOOL_CALLS", true))
    assert.isUndefined(finishReasonOf("SOMETHING_NEW", false))
    const thoughts = Either.getOrThrow(normalise({
      candidates: [{ content: { parts: [{ text: "thinking...", thought: true }, { text: "answer" }] }, finishReason: "STOP" }]
    }))
    assert.strictEqual(thoughts.choices[0].message.content, "answer")
    const blocked = normalise({ promptFeedback: { blockReason: "BLOCKLIST" } })
    assert.strictEqual(Either.isLeft(blocked) ? blocked.left._tag : "", "ContentFiltered")
    const empty = normalise({ candidates: [] })
    assert.strictEqual(Either.isLeft(empty) ? empty.left._tag : "", "MalformedResponse")
    const noFinish = normalise({ candidates: [{ content: { parts: [{ text: "x" }] } }] })
    assert.strictEqual(Either.isLeft(noFinish) ? noFinish.left._tag : "", "MalformedResponse")
  })
})

describe("Gemini error classification", () => {
  const rpc = fc.constantFrom("INVALID_ARGUMENT", "FAILED_PRECONDITION", "PERMISSION_DENIED", "NOT_FOUND", "RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "MYSTERY")
  const body = fc.oneof(
    fc.string(),
    fc.record({
      code: fc.integer({ min: 100, max: 599 }),
      message: fc.oneof(fc.string(), fc.constant("The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).")),
      status: rpc,
      details: fc.array(fc.oneof(
        fc.record({ "@type": fc.constant("type.googleapis.com/google.rpc.RetryInfo"), retryDelay: fc.oneof(fc.constant("30s"), fc.constant("1.5s"), fc.string()) }),
        fc.record({ "@type": fc.constant("type.googleapis.com/google.rpc.ErrorInfo"), reason: fc.constantFrom("API_KEY_INVALID", "OTHER") })
      ), { maxLength: 2 })
    }).map((error) => JSON.stringify({ error }))
  )

  it("property: classification is total; every status maps to exactly one class or success", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), body, (status, text) => {
        if (classifyStatus(status) === "success") {
          assert.isTrue(status >= 200 && status < 300)
          return
        }
        const error = classifyGoogle(errorCtx(status, text))
        assert.isTrue(Schema.is(ProviderError)(error))
        assert.strictEqual(error.status, status)
        if (status === 429) assert.strictEqual(error._tag, "RateLimited")
        if (status >= 500 && status !== 500) assert.isTrue(error.retryable, `${status} ${error._tag}`)
        if ([400, 401, 403].includes(status)) assert.isFalse(error.retryable, `${status} ${error._tag}`)
        // A model Gemini does not serve: failed over at once, never retried (the adapter does not retry an unreachable Transport).
        if (status === 404) assert.isTrue(isUnreachable(error))
        if (status < 200 || (status >= 300 && status < 400)) assert.strictEqual(error._tag, "MalformedResponse")
      }),
      { numRuns: 500 }
    )
  })

  it("RetryInfo, API_KEY_INVALID, token limits and DEADLINE_EXCEEDED", () => {
    const status = (code: number, s: string, message: string, details?: ReadonlyArray<unknown>) =>
      JSON.stringify({ error: { code, message, status: s, ...(details ? { details } : {}) } })
    const limited = classifyGoogle(errorCtx(429, status(429, "RESOURCE_EXHAUSTED", "quota", [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "22s" }])))
    assert.strictEqual(limited._tag, "RateLimited")
    assert.strictEqual(limited._tag === "RateLimited" ? limited.retryAfterMs : 0, 22_000)
    assert.strictEqual(retryDelayOf({ error: { details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "0.5s" }] } }), 500)
    assert.strictEqual(classifyGoogle(errorCtx(400, status(400, "INVALID_ARGUMENT", "API key not valid", [{ reason: "API_KEY_INVALID" }])))._tag, "Unauthorized")
    assert.strictEqual(classifyGoogle(errorCtx(400, status(400, "INVALID_ARGUMENT", "The input token count (5) exceeds the maximum number of tokens allowed (4).")))._tag, "ContextLengthExceeded")
    assert.strictEqual(classifyGoogle(errorCtx(400, status(400, "INVALID_ARGUMENT", "bad field")))._tag, "BadRequest")
    assert.strictEqual(classifyGoogle(errorCtx(504, status(504, "DEADLINE_EXCEEDED", "slow")))._tag, "Timeout")
    assert.strictEqual(classifyGoogle(errorCtx(503, status(503, "UNAVAILABLE", "overloaded")))._tag, "Overloaded")
    assert.strictEqual(classifyGoogle(errorCtx(402, status(402, "RESOURCE_EXHAUSTED", "credit")))._tag, "Unauthorized")
    assert.notInclude(classifyGoogle(errorCtx(400, status(400, "INVALID_ARGUMENT", "key AIzaSecretSecret123456 bad"))).message, "AIzaSecretSecret123456")
  })

  it("a 400 FAILED_PRECONDITION (the key's project has no billing where the free tier is not offered) is Unauthorized: another key or provider serves the request", () => {
    const region = JSON.stringify({
      error: { code: 400, message: "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.", status: "FAILED_PRECONDITION" }
    })
    const error = classifyGoogle(errorCtx(400, region))
    assert.strictEqual(error._tag, "Unauthorized")
    assert.isFalse(error.retryable)
    assert.include(error.message, "free tier is not available")
    assert.strictEqual(error._tag === "Unauthorized" ? error.keyId : undefined, info.keyId)
  })
  it("a 429 for an exhausted per-day quota (QuotaFailure ...PerDay...) is not retried before the quota's reset at midnight Pacific, whatever RetryInfo says", () => {
    const quota = (quotaId: string, retryDelay: string) =>
      JSON.stringify({
        error: {
          code: 429,
          message: "You exceeded your current quota, please check your plan and billing details. Please retry in 12.3s.",
          status: "RESOURCE_EXHAUSTED",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.QuotaFailure",
              violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests", quotaId, quotaValue: "250" }]
            },
            { "@type": "type.googleapis.com/google.rpc.Help", links: [{ description: "Learn more", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }] },
            { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay }
          ]
        }
      })
    const hint = (body: string, nowMs: number) => {
      const error = classifyGoogle(errorContextOf("google", info, 429, body, { nowMs }))
      assert.strictEqual(error._tag, "RateLimited")
      return error._tag === "RateLimited" ? error.retryAfterMs : undefined
    }
    // 2026-01-15 12:00 UTC is 04:00 PST: the daily quota comes back at 08:00 UTC the next day, 20 h later.
    const noonUtc = Date.UTC(2026, 0, 15, 12)
    assert.strictEqual(hint(quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "12s"), noonUtc), 20 * 3_600_000)
    // Summer (PDT, UTC-7): 2026-07-01 06:30 UTC is 23:30 PDT: 30 minutes to go.
    assert.strictEqual(hint(quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "0.5s"), Date.UTC(2026, 6, 1, 6, 30)), 30 * 60_000)
    // A per-minute quota keeps RetryInfo's delay.
    assert.strictEqual(hint(quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "12s"), noonUtc), 12_000)
    assert.strictEqual(hint(quota("GenerateContentInputTokensPerModelPerMinute-FreeTier", "0.5s"), noonUtc), 500)
  })
})

describe("Gemini stream translation", () => {
  it("text deltas, a whole function call, running usage: the last total wins", () => {
    const out = run([
      data({ ...textChunk("Hel"), usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 1, totalTokenCount: 5 } }),
      data({ ...textChunk("lo"), usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, totalTokenCount: 6 } }),
      data({
        candidates: [{ content: { parts: [{ functionCall: { name: "f", args: { a: 1 } } }] }, finishReason: "STOP", index: 0 }],
        usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 6, totalTokenCount: 10 },
        responseId: "r1"
      })
    ])
    const chunks = Either.getOrThrow(out)
    assert.isTrue(chunks.every(Schema.is(ChatChunk)))
    assert.isTrue(chunks.every((c) => c.id === "r1" && c.model === "gemini-x-001"))
    assert.strictEqual(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "Hello")
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
    assert.deepStrictEqual(calls, [{ index: 0, id: "call_r1_0_0", type: "function", function: { name: "f", arguments: "{\"a\":1}" } }])
    assert.strictEqual(chunks[chunks.length - 2]?.choices[0]?.finish_reason, "tool_calls")
    assert.deepStrictEqual(chunks[chunks.length - 1]?.usage, { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10, prompt_tokens_details: { cached_tokens: 0 } })
  })

  it("no finishReason is StreamInterrupted; an error event is classified; a blocked prompt is ContentFiltered, a blocked answer content_filter", () => {
    const cut = run([data(textChunk("Hel"))])
    assert.strictEqual(Either.isLeft(cut) ? cut.left._tag : "", "StreamInterrupted")
    assert.strictEqual(Either.isLeft(run([])) ? "left" : "right", "left")
    const failed = run([data(textChunk("Hel")), data({ error: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" } })])
    assert.strictEqual(Either.isLeft(failed) ? failed.left._tag : "", "RateLimited")
    assert.strictEqual(Either.isLeft(failed) ? failed.left.status : 0, undefined)
    const blocked = run([data({ promptFeedback: { blockReason: "SAFETY" } })])
    assert.strictEqual(Either.isLeft(blocked) ? blocked.left._tag : "", "ContentFiltered")
    const unsafe = run([data({ candidates: [{ finishReason: "SAFETY", index: 0 }] })])
    assert.deepStrictEqual(
      Either.isRight(unsafe) ? unsafe.right.flatMap((c) => c.choices.flatMap((ch) => (ch.finish_reason === null ? [] : [ch.finish_reason]))) : [],
      ["content_filter"]
    )
    const garbage = run([{ _tag: "Event", event: "message", id: undefined, data: "{\"candidates\": [" }])
    assert.strictEqual(Either.isLeft(garbage) ? garbage.left._tag : "", "MalformedResponse")
  })

  it("without usageMetadata the usage is estimated and marked so", () => {
    const chunks = Either.getOrThrow(run([data(textChunk("abcdefgh", { finishReason: "STOP" }))]))
    assert.deepStrictEqual(chunks[chunks.length - 1]?.usage, { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9, estimated: true })
  })
})

describe("an unusable finishReason is named only when it looks like one", () => {
  const odd = "sk-live-0123456789abcdef <img src=x onerror=alert(1)>"
  it("a complete answer and a stream quote a Gemini-style reason, and not a value of another shape", () => {
    for (const [reason, shown] of [["NEW_REASON", "NEW_REASON"], [odd, "(unrecognised value)"]] as const) {
      const answer = normalise({ candidates: [{ content: { role: "model", parts: [{ text: "x" }] }, finishReason: reason }] } as GeminiResponse)
      const streamed = run([data(textChunk("x", { finishReason: reason }))])
      for (const error of [Either.getLeft(answer), Either.getLeft(streamed)].map(Option.getOrUndefined)) {
        assert.strictEqual(error?._tag, "MalformedResponse", reason)
        assert.include(error?.detail ?? "", `unusable finishReason ${shown}`)
        assert.notInclude(error?.detail ?? "", "sk-live")
      }
    }
  })
})
