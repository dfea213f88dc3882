/**
 * A usage the gateway estimates because the provider reported none (Ollama
 * without eval counts, a Gemini stream cut short) is what the rate limiter
 * settles and the budgets are charged: Chinese text counts about a token a
 * character there too, not four characters a token; English stays near
 * characters / 4.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { estimatedUsage } from "../src/internal/usage.js"
import { usageOf } from "../src/Ollama/normalise.js"

const question = "请用一句话总结哈姆雷特的情节。"
const answer = "哈姆雷特为父报仇,最终与仇人同归于尽。"
const request: ChatRequest = { model: "qwen", messages: [{ role: "user", content: question }] }

describe("estimated usage by script", () => {
  it("an Ollama answer without eval counts: a Chinese prompt and answer count at least a token a character", () => {
    const usage = usageOf({ done: true, message: { role: "assistant", content: answer } }, request, answer)
    assert.isTrue(usage.estimated)
    assert.isAtLeast(usage.prompt_tokens, question.length)
    assert.isAtLeast(usage.completion_tokens, answer.length)
  })

  it("English stays near characters / 4", () => {
    const english: ChatRequest = { model: "llama", messages: [{ role: "user", content: "Summarise Hamlet in one sentence." }] }
    const usage = estimatedUsage(english, "A prince avenges his father and everyone dies.")
    // The prompt as TokenEstimator counts it (EstimatedUsageParts): 3 for the reply, 4 of framing, 1 for the role "user",
    // and "Summarise Hamlet in one sentence." 33 characters (33 quarter tokens), 2 capitals and a full stop (a quarter,
    // a quarter and half a token more): 10; the answer 46 characters, a capital and a full stop: 13
    assert.deepStrictEqual(usage, { prompt_tokens: 18, completion_tokens: 13, total_tokens: 31, estimated: true })
  })
})
