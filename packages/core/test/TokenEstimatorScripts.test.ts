/**
 * The estimate for models without a tokenizer at hand (Claude, Gemini,
 * Ollama) by writing system: English stays at characters / 4, but text in
 * other scripts is not counted as if it were English. Chinese runs at about a
 * token a character on Claude's and Gemini's tokenizers, Cyrillic at two or
 * three characters a token: at characters / 4 such a prompt was reserved a
 * third or a quarter of what it uses.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base"
import * as TokenEstimator from "../src/TokenEstimator.js"
import { model } from "./RoutingFixtures.js"

const claude = model("claude", { provider: "anthropic", providerModel: "claude-sonnet-4-5" })
const gemini = model("gemini", { provider: "google", providerModel: "gemini-2.5-pro" })

const ask = (content: string): ChatRequest => ({ model: "x", messages: [{ role: "user", content }] })

const chinese = "北京是中华人民共和国的首都,也是全国的政治、文化中心。我想买一张去东京的火车票。请用一句话总结哈姆雷特的情节。"
const japanese = "東京は日本の首都であり、最大の都市です。ハムレットのあらすじを一文で要約してください。"
const korean = "서울은 대한민국의 수도이자 가장 큰 도시입니다. 햄릿의 줄거리를 한 문장으로 요약해 주세요."
const russian = "Москва является столицей Российской Федерации и крупнейшим городом страны. Съешь же ещё этих мягких французских булок."
const greek = "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας και η μεγαλύτερη πόλη της χώρας."
const arabic = "القاهرة هي عاصمة جمهورية مصر العربية وأكبر مدنها، وتقع على ضفاف نهر النيل."
const hindi = "नई दिल्ली भारत की राजधानी है और यह देश के सबसे बड़े शहरों में से एक है।"
const thai = "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย และเป็นเมืองที่ใหญ่ที่สุดในประเทศ"
const emoji = "🎉🚀😀👍🔥🙏😂🤖🌍"

describe("TokenEstimator: text in other scripts on heuristic models", () => {
  it("a Chinese prompt is estimated at no less than its characters; Japanese and Korean at a token a character of theirs", () => {
    assert.isAtLeast(TokenEstimator.countText(chinese, "heuristic"), chinese.length)
    assert.isAtLeast(TokenEstimator.estimatePromptTokens(ask(chinese), claude), chinese.length)
    assert.isAtLeast(TokenEstimator.estimatePromptTokens(ask(chinese), gemini), chinese.length)
    for (const text of [japanese, korean]) {
      const characters = [...text].filter((c) => /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(c)).length
      assert.isAtLeast(TokenEstimator.countText(text, "heuristic"), characters, text)
      assert.isAtLeast(TokenEstimator.estimatePromptTokens(ask(text), claude), characters, text)
    }
  })

  it("a Russian prompt is estimated above characters / 4: half a token a letter", () => {
    const estimated = TokenEstimator.countText(russian, "heuristic")
    const letters = [...russian].filter((c) => /\p{Script=Cyrillic}/u.test(c)).length
    assert.isAbove(estimated, Math.ceil(russian.length / 4))
    assert.isAtLeast(estimated, Math.ceil(letters / 2))
    // and not a token a character
    assert.isBelow(estimated, russian.length)
    assert.isAbove(TokenEstimator.estimatePromptTokens(ask(russian), claude), 3 + 4 + 1 + Math.ceil(russian.length / 4))
  })

  it("an emoji is several tokens", () => {
    assert.isAtLeast(TokenEstimator.countText(emoji, "heuristic"), 2 * [...emoji].length)
  })

  it("no script is estimated below what o200k_base, the leanest tokenizer at hand, counts", () => {
    // Claude's tokenizer splits text at least as finely as OpenAI's o200k_base (more tokens for the same English);
    // an estimate below o200k's count is one the provider will exceed.
    for (const text of [chinese, japanese, korean, russian, greek, arabic, hindi, thai, emoji]) {
      assert.isAtLeast(TokenEstimator.countText(text, "heuristic"), countO200k(text), text)
    }
  })

  it("English words stay at characters / 4; punctuation, capitals and digits count more (TokenEstimatorData)", () => {
    const words = "summarise the plot of hamlet in one sentence please who dies and why\n\ttabs"
    assert.strictEqual(TokenEstimator.countText(words, "heuristic"), Math.ceil(words.length / 4))
    const english = "Summarise the plot of Hamlet in one sentence, please: who dies, and why? {\"json\": [1, 2, 3]}\n\ttabs"
    assert.isAbove(TokenEstimator.countText(english, "heuristic"), Math.ceil(english.length / 4))
    assert.isAtLeast(TokenEstimator.countText(english, "heuristic"), countO200k(english))
    assert.strictEqual(TokenEstimator.countText("abc", "heuristic"), 1)
    assert.strictEqual(TokenEstimator.countText("", "heuristic"), 0)
    // 3 reply + (4 framing + 1 role + 25 text)
    assert.strictEqual(TokenEstimator.estimatePromptTokens(ask("x".repeat(100)), claude), 33)
  })

  it("a prompt mixing scripts is estimated as the sum of its parts (give or take the rounding of each)", () => {
    const mixed = `${"Please translate: ".repeat(4)}${chinese}`
    const parts = TokenEstimator.countText("Please translate: ".repeat(4), "heuristic") + TokenEstimator.countText(chinese, "heuristic")
    const whole = TokenEstimator.countText(mixed, "heuristic")
    assert.isAtMost(Math.abs(whole - parts), 1)
  })
})
