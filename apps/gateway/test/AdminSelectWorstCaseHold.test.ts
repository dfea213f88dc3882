/**
 * A request without `max_tokens` holds, against its budgets, all the output
 * its model may produce (the worst case: `Accounting.hold`). A model whose
 * worst-case hold no budget has room for cannot serve the request, so
 * `POST /admin/select` must not rank it: the dry run answers what the chat
 * route does (here a 429 budget_exceeded), not a ranking of models the
 * gateway then refuses.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bearer, call, master, serveOverFakes } from "./support/VkStack.js"

// Room for the default 1024-token estimate of either model ($0.0006, $0.0051), not for their worst-case
// holds (16384 tokens of gpt-4o-mini: $0.0098; 8192 of claude-haiku: $0.041).
const budgets = { global: { daily: 0.006 } }
const body = { model: "auto", messages: [{ role: "user", content: "hello there" }] }

describe("POST /admin/select and the worst-case budget hold", () => {
  it.scopedLive("ranks no model whose worst-case hold exceeds a budget: the chat route's 429", () =>
    Effect.gen(function* () {
      const { openai, url } = yield* serveOverFakes({ cache: { enabled: false }, budgets })
      const dry = yield* call(url, "/admin/select", { body, headers: bearer(master) })
      const served = yield* call(url, "/v1/chat/completions", { body, headers: bearer(master) })
      assert.strictEqual(served.status, 429, served.text)
      assert.strictEqual(served.json.error.code, "budget_exceeded")
      assert.lengthOf(yield* openai.requests, 0)
      assert.strictEqual(dry.status, served.status, dry.text)
      assert.strictEqual(dry.json.error.code, served.json.error.code)
    }))

  it.scopedLive("with max_tokens the hold is the asked output: both serve", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ cache: { enabled: false }, budgets })
      const capped = { ...body, max_tokens: 50 }
      const dry = yield* call(url, "/admin/select", { body: capped, headers: bearer(master) })
      assert.strictEqual(dry.status, 200, dry.text)
      const served = yield* call(url, "/v1/chat/completions", { body: capped, headers: bearer(master) })
      assert.strictEqual(served.status, 200, served.text)
      assert.strictEqual(served.headers.get("x-modelgate-model"), dry.json.ranked[0].model)
    }))
})
