/**
 * The Gateway double of the HTTP micro benchmarks (`micro-http.ts`,
 * `micro-http-ops.ts`): a fixed complete answer and a three-chunk stream,
 * answered at once (the stream both as `chunks` and as a bare pull, `open`,
 * which the SSE writer reads as it reads a provider's stream). `gatewayDouble` loads Effect and the core only when
 * called, so a process that needs just the bytes (micro-http's load generator
 * and its bare server) does not load them.
 */

/** The complete answer the double gives (and the bare server writes). */
export const answer = {
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello! How can I help you today?" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18 }
}

const chunk = (content: string | undefined, finish: boolean) => ({
  id: "chatcmpl-bench",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: content === undefined ? [] : [{ index: 0, delta: { content }, finish_reason: finish ? "stop" : null }],
  ...(content === undefined ? { usage: { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18 } } : {})
})

/** The streamed answer: two content chunks, then a usage-only chunk. */
export const chunks = [chunk("Hello", false), chunk("! How can I help?", true), chunk(undefined, false)]

/** A Gateway that answers every request at once with `answer` or `chunks`. */
export const gatewayDouble = async () => {
  const { Gateway } = await import("@modelgate/core/Gateway")
  const { Chunk, Effect, Option, Stream } = await import("effect")
  const meta = (requestId: string | undefined) => ({
    requestId: requestId ?? "none",
    model: "gpt-4o-mini",
    provider: "openai",
    cacheHit: false,
    failovers: 0,
    costUsd: 0.0000068
  })
  return Gateway.of({
    complete: (_request, _requirements, options) => Effect.succeed({ response: answer as never, meta: meta(options?.requestId) }),
    stream: (_request, _requirements, options) =>
      Effect.succeed({
        meta: { ...meta(options?.requestId), costUsd: undefined },
        chunks: Stream.fromIterable(chunks as never),
        // Like a provider's stream (the real gateway's OpenAI path): a bare pull that the SSE writer reads
        // (`Sse.writePull`), one batch with every chunk (the bench upstream sends its events in one write).
        open: () => {
          let done = false
          return {
            pull: Effect.suspend(() => {
              if (done) return Effect.fail(Option.none())
              done = true
              return Effect.succeed(Chunk.unsafeFromArray(chunks as never))
            }),
            close: () => Effect.void
          }
        }
      })
  })
}
