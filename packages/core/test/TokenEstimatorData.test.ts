/**
 * The by-script estimate (Claude, Gemini, Ollama) on ASCII text that is not
 * prose: numbers, CSV rows, log lines, ids, hashes, base64, JSON records.
 * Tokenizers split such text far more finely than English (o200k_base, the
 * leanest tokenizer at hand, makes a token of 1.5-2.5 characters of it;
 * Gemini's makes a token of every digit): at characters / 4 such a prompt
 * was reserved under half of what it uses, so a tpm limit let through twice
 * the tokens the provider then refused with 429s, and a prompt over a
 * context window was sent instead of refused or routed.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base"
import * as TokenEstimator from "../src/TokenEstimator.js"
import { model } from "./RoutingFixtures.js"

const claude = model("claude", { provider: "anthropic", providerModel: "claude-sonnet-4-5" })

/** Deterministic pseudo-random bytes (a linear congruential generator). */
const bytes = (n: number, seed: number): Uint8Array => {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    out[i] = x >>> 16 & 0xff
  }
  return out
}
const hex = (n: number, seed: number): string => Buffer.from(bytes(n, seed)).toString("hex")
const uuid = (seed: number): string => {
  const h = hex(16, seed)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const numbers = Array.from({ length: 200 }, (_, i) => String(i * 7919 % 100_000)).join(",")
const csv = Array.from({ length: 40 }, (_, i) => `${i},2024-01-${String(i % 28 + 1).padStart(2, "0")},${(i * 13.37).toFixed(2)},${i * 1000 + 17}`)
  .join("\n")
const logs = Array.from(
  { length: 20 },
  (_, i) => `2024-05-01T12:${String(i).padStart(2, "0")}:03.123Z ERROR [worker-${i}] pid=${4000 + i} req=${uuid(i)} failed`
).join("\n")
const ids = Array.from({ length: 20 }, (_, i) => uuid(100 + i)).join("\n")
const hashes = Array.from({ length: 20 }, (_, i) => hex(16, 200 + i)).join(" ")
const records = JSON.stringify(
  Array.from({ length: 30 }, (_, i) => ({ id: i, name: `user${i}`, email: `u${i}@ex.com`, active: i % 2 === 0, score: 0.1 * i }))
)
const base64 = Buffer.from(bytes(600, 7)).toString("base64")

const ask = (content: string): ChatRequest => ({ model: "x", messages: [{ role: "user", content }] })

describe("TokenEstimator: data text on heuristic models", () => {
  it("numbers, CSV, log lines, ids, hashes and JSON records are estimated at no less than o200k_base counts", () => {
    for (const [what, text] of Object.entries({ numbers, csv, logs, ids, hashes, records })) {
      assert.isAtLeast(TokenEstimator.countText(text, "heuristic"), countO200k(text), what)
    }
  })

  it("base64 is estimated near o200k_base's count, not at a third of it", () => {
    assert.isAtLeast(TokenEstimator.countText(base64, "heuristic"), Math.ceil(0.85 * countO200k(base64)))
  })

  it("a Claude prompt of CSV data is reserved at least the tokens o200k_base counts in it", () => {
    assert.isAtLeast(TokenEstimator.estimatePromptTokens(ask(csv), claude), countO200k(csv))
  })

  it("English prose is not estimated at more than 1.4 times o200k_base's count (Claude's tokenizer makes 16-30% more)", () => {
    const prose = "In 1848, revolutions swept across Europe. Historians (e.g. Hobsbawm) call it the \"springtime of peoples\"; " +
      "others disagree. Karl Marx published the Communist Manifesto that February, and it was read widely."
    const estimated = TokenEstimator.countText(prose, "heuristic")
    assert.isAtLeast(estimated, countO200k(prose))
    assert.isAtMost(estimated, 1.4 * countO200k(prose))
  })
})
