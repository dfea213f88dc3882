/**
 * The bench upstream's fixed answers (`upstream.ts` serves them; the adapter
 * micro benchmarks parse the same text): a complete OpenAI chat completion,
 * and a streamed one of 8 SSE events (a role event, five content events, the
 * finish event, a usage-only event) then `data: [DONE]`.
 */

/** The complete answer's JSON text. */
export const completionText = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench upstream." }, finish_reason: "stop", logprobs: null }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 }
})

const chunk = (delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`

/** The streamed answer's SSE text, `data: [DONE]` included. */
export const streamText =
  chunk({ role: "assistant", content: "" }, null) +
  ["Hello", " from", " the", " bench", " upstream."].map((t) => chunk({ content: t }, null)).join("") +
  chunk({}, "stop") +
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } })}\n\n` +
  "data: [DONE]\n\n"

/**
 * A long streamed answer as separate writes: a role event, `events` content
 * events of one word, the finish event, a usage-only event and `data: [DONE]`.
 */
export const longStreamText = (events: number): ReadonlyArray<string> => [
  chunk({ role: "assistant", content: "" }, null),
  ...Array.from({ length: events }, (_, i) => chunk({ content: ` word${i}` }, null)),
  chunk({}, "stop"),
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 12, completion_tokens: events, total_tokens: 12 + events } })}\n\n`,
  "data: [DONE]\n\n"
]
