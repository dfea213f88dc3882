import { assert, describe, it } from "@effect/vitest"
import { Heuristics } from "@modelgate/core/ResponseEvaluator"
import type { ChatRequest, ChatResponse, FinishReason, ToolCall } from "@modelgate/domain/Chat"

const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "auto",
  messages: [{ role: "system", content: "You are helpful." }, { role: "user", content: text }],
  ...extra
})

const reply = (content: string | null, finish: FinishReason = "stop", toolCalls?: ReadonlyArray<ToolCall>): ChatResponse => ({
  id: "x",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content, ...(toolCalls ? { tool_calls: toolCalls } : {}) }, finish_reason: finish }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
})

const call = (args: string): ToolCall => ({ id: "c", type: "function", function: { name: "get_weather", arguments: args } })

const capital = ask("What is the capital of France?")
const paris = "Paris is the capital of France."
const essay =
  "Photosynthesis happens in chloroplasts, where chlorophyll absorbs mostly red and blue light. " +
  "That energy splits water molecules, releasing oxygen as a by-product and producing ATP and NADPH. " +
  "In the Calvin cycle, the enzyme RuBisCO fixes carbon dioxide into three-carbon sugars. " +
  "Those sugars later build glucose, starch and cellulose, which feed growth and store energy for the night."

describe("completeness", () => {
  it("is 1 for a finished answer and drops for truncation, filtering, emptiness and refusals", () => {
    assert.strictEqual(Heuristics.completeness(capital, reply(paris)), 1)
    assert.strictEqual(Heuristics.completeness(capital, reply(paris, "length")), 0.4)
    assert.strictEqual(Heuristics.completeness(capital, reply(paris, "content_filter")), 0.2)
    assert.strictEqual(Heuristics.completeness(capital, reply("   ")), 0)
    assert.strictEqual(Heuristics.completeness(capital, reply(null)), 0)
  })

  it("measures the answer's length against a detailed ask", () => {
    const detailed = ask("Explain in detail how photosynthesis works.")
    assert.closeTo(Heuristics.completeness(detailed, reply("Plants use sunlight, mostly.")), Math.sqrt(4 / 40), 1e-9)
    assert.strictEqual(Heuristics.completeness(detailed, reply(essay)), 1)
  })

  it("counts the items a prompt asks for", () => {
    const tips = ask("Give me 5 tips for better sleep")
    assert.closeTo(Heuristics.completeness(tips, reply("- Dark room\n- Cool room\n- No screens")), 3 / 5, 1e-9)
    assert.strictEqual(Heuristics.completeness(tips, reply("1. Dark room\n2. Cool room\n3. No screens\n4. No coffee\n5. Routine")), 1)
    assert.closeTo(Heuristics.completeness(ask("Answer in three sentences: why is the sky blue?"), reply("Rayleigh scattering.")), 1 / 3, 1e-9)
  })

  it("scores tool calls by whether their arguments are JSON", () => {
    assert.strictEqual(Heuristics.completeness(capital, reply(null, "tool_calls", [call("{\"city\":\"Paris\"}")])), 1)
    assert.strictEqual(Heuristics.completeness(capital, reply(null, "tool_calls", [call("{city: Paris")])), 0.5)
  })
})

describe("relevance", () => {
  it("is the share of the prompt's key terms the answer covers (half is full marks)", () => {
    assert.strictEqual(Heuristics.relevance(capital, reply(paris)), 1)
    assert.strictEqual(Heuristics.relevance(capital, reply("Bananas are yellow and rich in potassium.")), 0)
    const three = ask("Compare PostgreSQL replication, sharding and vacuum tuning")
    assert.closeTo(Heuristics.relevance(three, reply("Replication copies data to standbys.")), (1 / 6) / 0.5, 1e-9)
  })

  it("ignores stop words and matches word forms", () => {
    assert.strictEqual(Heuristics.relevance(ask("Can you help me please?"), reply("Sure.")), 1)
    assert.deepStrictEqual([...Heuristics.keyTerms("the hiking boots")], [Heuristics.stem("hike"), "boot"])
    assert.strictEqual(Heuristics.stem("databases"), Heuristics.stem("database"))
    assert.strictEqual(Heuristics.stem("cities"), Heuristics.stem("city"))
    assert.strictEqual(Heuristics.stem("running"), Heuristics.stem("run"))
  })

  it("reads Chinese, Japanese and Thai, written without spaces, by pairs of characters", () => {
    // The right answer in the prompt's own language covers its terms, as in English; an answer about something else does not.
    assert.strictEqual(Heuristics.relevance(ask("法国的首都是哪里？"), reply("法国的首都是巴黎。")), 1)
    assert.strictEqual(Heuristics.relevance(ask("日本の首都はどこですか？"), reply("日本の首都は東京です。")), 1)
    assert.strictEqual(Heuristics.relevance(ask("ประเทศไทยมีเมืองหลวงชื่ออะไร"), reply("เมืองหลวงของประเทศไทยคือกรุงเทพมหานคร")), 1)
    assert.isBelow(Heuristics.relevance(ask("法国的首都是哪里？"), reply("香蕉是黄色的水果。")), 0.2)
    // A Chinese answer cut by the token limit scores as the English one does, not lower.
    const english = Heuristics.evaluate(capital, reply("Paris is the capital", "length"), { completeness: 0.4, relevance: 0.3, coherence: 0.3 })
    const chinese = Heuristics.evaluate(ask("法国的首都是哪里？"), reply("法国的首都是", "length"), { completeness: 0.4, relevance: 0.3, coherence: 0.3 })
    assert.strictEqual(chinese.score, english.score)
    // Words in spaced scripts inside such text are still words.
    assert.isTrue(Heuristics.keyTerms("用PostgreSQL做复制").has("postgresql"))
  })
})

describe("coherence", () => {
  it("is 1 for varied, well-formed text", () => {
    assert.strictEqual(Heuristics.coherence(capital, reply(essay)), 1)
  })

  it("falls with repeated n-grams", () => {
    const loop = "the cat sat on the mat ".repeat(12).trim() + "."
    assert.isAtMost(Heuristics.coherence(capital, reply(loop)), 0.1)
    assert.strictEqual(Heuristics.repetitionScore(essay), 1)
  })

  it("halves for an unbalanced code fence and lowers an answer cut mid-sentence", () => {
    assert.strictEqual(Heuristics.coherence(capital, reply("Here:\n```ts\nconst x = 1\n")), 0.5)
    assert.strictEqual(Heuristics.coherence(capital, reply("Here:\n```ts\nconst x = 1\n```")), 1)
    const cut = `${essay} And then the plant converts the`
    assert.strictEqual(Heuristics.coherence(capital, reply(cut)), 0.8)
    assert.strictEqual(Heuristics.coherence(capital, reply(`${essay}\n- and a last bullet without a stop`)), 1)
  })

  it("checks JSON when response_format asks for it", () => {
    const json = ask("Return the capital as JSON", { response_format: { type: "json_object" } })
    assert.strictEqual(Heuristics.coherence(json, reply("{\"capital\":\"Paris\"}")), 1)
    assert.strictEqual(Heuristics.coherence(json, reply("```json\n{\"capital\":\"Paris\"}\n```")), 0.6)
    assert.strictEqual(Heuristics.coherence(json, reply("The capital is Paris.")), 0)
    const schema = ask("Capital?", {
      response_format: { type: "json_schema", json_schema: { name: "c", schema: { type: "object", required: ["capital", "country"] } } }
    })
    assert.strictEqual(Heuristics.coherence(schema, reply("{\"capital\":\"Paris\",\"country\":\"France\"}")), 1)
    assert.closeTo(Heuristics.coherence(schema, reply("{\"capital\":\"Paris\"}")), 0.7, 1e-9)
    assert.strictEqual(Heuristics.coherence(capital, reply("The capital is Paris.")), 1, "no JSON asked")
  })

  it("is 0 for an empty answer", () => {
    assert.strictEqual(Heuristics.coherence(capital, reply("")), 0)
  })
})

describe("weighted score", () => {
  it("is the weighted mean of the three, deterministic", () => {
    const scores = Heuristics.evaluate(capital, reply(paris, "length"), { completeness: 0.4, relevance: 0.3, coherence: 0.3 })
    assert.deepStrictEqual(scores, { completeness: 0.4, relevance: 1, coherence: 1, score: 0.4 * 0.4 + 0.3 + 0.3 })
    assert.deepStrictEqual(Heuristics.evaluate(capital, reply(paris, "length"), { completeness: 0.4, relevance: 0.3, coherence: 0.3 }), scores)
    const unnormalised = Heuristics.evaluate(capital, reply(paris, "length"), { completeness: 0.8, relevance: 0.6, coherence: 0.6 })
    assert.closeTo(unnormalised.score, scores.score, 1e-12)
  })
})
