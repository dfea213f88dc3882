/**
 * fast-check values of Ollama's `/api/chat` answer objects (a whole answer or
 * one NDJSON line): mostly the everyday shape (with the durations Ollama
 * adds), now and then tool calls, an `error` line or a wrong value.
 */
import * as fc from "fast-check"
import { anyValue, count, mostly, optional, rare } from "./wireArbitraries.js"

const word = fc.string({ maxLength: 6 })

/** A tool call: `arguments` any JSON (Ollama sends an object). */
export const toolCall = fc.record({
  id: optional(word),
  function: mostly(fc.record({
    index: optional(count),
    name: mostly(word),
    arguments: optional(fc.oneof(fc.constant({ city: "Paris" }), word, anyValue))
  }, { requiredKeys: ["name"] }))
}, { requiredKeys: ["function"] })

/** The `message` of an answer object. */
export const message = fc.record({
  role: optional(fc.constant("assistant")),
  content: mostly(word),
  thinking: rare(word),
  tool_calls: rare(fc.oneof(fc.constant(null), fc.array(toolCall, { maxLength: 2 }))),
  images: rare(fc.constant(null))
}, { requiredKeys: [] })

/** An answer object: `done` mostly as given, the metrics and `done_reason` mostly on done objects. */
export const chatLine = (done: fc.Arbitrary<boolean>) =>
  fc.record({
    model: optional(fc.constant("llama3.2")),
    created_at: optional(fc.constant("2025-07-07T20:32:53.84Z")),
    message: optional(message),
    done: mostly(done),
    done_reason: optional(fc.constantFrom("stop", "length", "load")),
    total_duration: optional(count),
    prompt_eval_count: optional(count),
    prompt_eval_duration: optional(count),
    eval_count: optional(count),
    error: rare(word)
  }, { requiredKeys: [] })

/** Mostly answer objects, now and then any value at all. */
export const chatLineOrAny = (done: fc.Arbitrary<boolean>) =>
  fc.oneof({ arbitrary: chatLine(done), weight: 12 }, { arbitrary: anyValue, weight: 1 })
