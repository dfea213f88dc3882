/**
 * The question the evaluator tests ask, and answers to it: `reply("")` is an
 * empty answer (a low score), `reply("Paris is the capital of France.")` a good one.
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"

/** A question with one right answer. */
export const request: ChatRequest = { model: "auto", messages: [{ role: "user", content: "What is the capital of France?" }] }

/** An answer to `request` saying `content`. */
export const reply = (content: string): ChatResponse => ({
  id: "x",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
})
