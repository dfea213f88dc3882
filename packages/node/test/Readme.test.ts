import { assert, describe, it } from "@effect/vitest"
import type { Provider } from "@modelgate/core/Provider"
import { Effect } from "effect"
import { stack } from "./fixture.js"
import { withDoubles } from "./ReadmeExample.js"

/** A provider double answering every request with a fixed text. */
const double = (id: string): Provider => ({
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

describe("README library example", () => {
  it.scopedLive("runs the gateway with the adapters swapped for doubles", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      const { meta, response } = yield* withDoubles([double("openai"), double("anthropic")], s.dir)
      // LOW priority favours the cheaper model: gpt-4o-mini over claude-haiku
      assert.strictEqual(meta.model, "gpt-4o-mini")
      assert.strictEqual(response.choices[0].message.content, "hello from openai")
      assert.strictEqual((yield* s.openai.requests).length, 0)
    }))
})
