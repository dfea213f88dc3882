/**
 * A provider double for requests that fail over: model "bad" always fails
 * with a 500; every other model answers.
 */
import { ServerError } from "@modelgate/domain/ProviderError"
import { Effect, Stream } from "effect"
import type { Provider } from "../src/Provider.js"
import { textChunk } from "./ChunkFixtures.js"

const scripted = new ServerError({ provider: "openai", model: "bad", detail: "scripted", status: 500 })

/** "bad" fails; every other model answers `content`, whole or streamed in `parts` (7 prompt tokens, one completion token a part). */
export const failingModelDouble = (content: string, parts: ReadonlyArray<string> = content === "" ? [] : [content]): Provider => {
  const completion = parts.length
  return {
    id: "openai",
    requiresKey: false,
    chat: (ctx) =>
      ctx.model.id === "bad"
        ? Effect.fail(scripted)
        : Effect.succeed({
          response: {
            id: "up",
            object: "chat.completion",
            created: 0,
            model: ctx.model.providerModel,
            choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
            usage: { prompt_tokens: 7, completion_tokens: completion, total_tokens: 7 + completion }
          },
          rateLimit: undefined,
          providerRequestId: undefined
        }),
    stream: (ctx) =>
      ctx.model.id === "bad"
        ? Effect.fail(scripted)
        : Effect.succeed({
          chunks: Stream.fromIterable([...parts.map((p) => textChunk(p)), textChunk(undefined, "stop", { prompt: 7, completion })]),
          rateLimit: undefined,
          providerRequestId: undefined
        }),
    probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
  }
}
