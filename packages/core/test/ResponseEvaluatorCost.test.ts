/**
 * The evaluator's cost is bounded: a huge prompt or answer is read as its
 * first and last part only, so one 10 MB request does not block the event loop.
 */
import { assert, describe, it } from "@effect/vitest"
import { Heuristics } from "@modelgate/core/ResponseEvaluator"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { reply } from "./ResponseEvaluatorFixtures.js"

const weights = { completeness: 0.4, relevance: 0.3, coherence: 0.3 }
const ask = (content: string): ChatRequest => ({ model: "auto", messages: [{ role: "user", content }] })

const question = "Explain in detail how PostgreSQL replication copies data to standby servers."
const answer =
  "PostgreSQL replication streams the write-ahead log from the primary to standby servers, which replay it to copy the data. " +
  "Each standby connects with a replication slot, so the primary keeps the log segments a standby still needs. " +
  "Synchronous replication waits for a standby to confirm each commit; asynchronous replication does not wait, and is faster. " +
  "Logical replication instead publishes changes per table, so standby servers may even run another major version."
/** A megabyte of distinct words (`w0 w1 ...`), none of them in the answer. */
const distinctWords = Array.from({ length: 130_000 }, (_, i) => `w${i}`).join(" ")
/** A megabyte of one phrase again and again. */
const loop = "replication copies data again ".repeat(35_000)
const pad = " ".repeat(20_000)
/** `head`, a huge `middle` well away from both ends, and `tail`. */
const around = (head: string, middle: string, tail: string) => `${head}${pad}${middle}${pad}${tail}`

describe("cost of scoring a huge prompt or answer", () => {
  it("scores a huge prompt on its first and last characters: a pasted megabyte in the middle changes nothing", () => {
    const scattered = Heuristics.evaluate(ask(around(question, distinctWords, question)), reply(answer), weights)
    const repeated = Heuristics.evaluate(ask(around(question, loop, question)), reply(answer), weights)
    const alone = Heuristics.evaluate(ask(question), reply(answer), weights)
    assert.deepStrictEqual(scattered, alone)
    assert.deepStrictEqual(repeated, alone)
  })

  it("scores a huge answer on its first and last characters: its middle changes nothing", () => {
    const scattered = Heuristics.evaluate(ask(question), reply(around(answer, distinctWords, answer)), weights)
    const looping = Heuristics.evaluate(ask(question), reply(around(answer, loop, answer)), weights)
    const twice = Heuristics.evaluate(ask(question), reply(`${answer}${pad.slice(0, 100)}\n${answer}`), weights)
    assert.deepStrictEqual(scattered, looping)
    assert.deepStrictEqual(scattered, twice)
  })

  it("reads no more than its bounds of a 5 MB prompt and answer, and scores them as those slices", () => {
    const prompt = around(question, distinctWords.repeat(5), question)
    const content = around(answer, loop.repeat(5), answer)
    const promptSlice = Heuristics.scoredSlice(prompt, Heuristics.promptChars)
    const answerSlice = Heuristics.scoredSlice(content, Heuristics.answerChars)
    assert.isAtMost(promptSlice.length, Heuristics.promptChars + 1)
    assert.isAtMost(answerSlice.length, Heuristics.answerChars + 1)
    assert.deepStrictEqual(Heuristics.evaluate(ask(prompt), reply(content), weights), Heuristics.evaluate(ask(promptSlice), reply(answerSlice), weights))
  })

  it("counts code fences over the whole answer: a long code block cut by the slice is still closed", () => {
    const code = Array.from({ length: 5_000 }, (_, i) => `const x${i} = ${i}`).join("\n")
    const long = `Here is the module:\n\`\`\`ts\n${code}\n\`\`\`\nThat is all.`
    assert.strictEqual(Heuristics.fenceScore(long), 1)
    assert.strictEqual(Heuristics.coherence(ask(question), reply(long)), 1)
    assert.strictEqual(Heuristics.fenceScore(`Here:\n\`\`\`ts\n${code}\nThat is all.`), 0.5)
  })

  it("never splits a character written as two UTF-16 units", () => {
    const emoji = "😀".repeat(10_000)
    const slice = Heuristics.scoredSlice(emoji, 9)
    assert.isFalse(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(slice))
  })
})
