/**
 * A provider double for the library examples: it answers every request with
 * `hello from <provider id>`, never streams, and its probe always succeeds.
 */
import type { Provider } from "@modelgate/core/Provider"
import { Effect } from "effect"

/** A provider double answering every request with a fixed text. */
export const double = (id: string): Provider => ({
  id,
  requiresKey: false,
  chat: (ctx) =>
    Effect.succeed({
      response: {
        id: "chatcmpl-double",
        object: "chat.completion",
        created: 0,
        model: ctx.model.providerModel,
        choices: [{ index: 0, message: { role: "assistant", content: `hello from ${id}` }, finish_reason: "stop" }],
        usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 }
      },
      rateLimit: undefined,
      providerRequestId: undefined
    }),
  stream: () => Effect.die("not used"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})
