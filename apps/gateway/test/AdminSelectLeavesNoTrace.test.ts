/**
 * `POST /admin/select` is a dry run: it reserves no rate-limit room and holds
 * no budget. With room for one request a minute on each model, dry runs
 * before a chat request leave that request its model.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { twoModels } from "./support/Registry.js"
import { bearer, call, chat, master, serveOverFakes } from "./support/VkStack.js"

const oneAMinute = twoModels("admin select no trace", { openai: { rpm: 1, tpm: 100_000 }, anthropic: { rpm: 1, tpm: 100_000 } })

describe("POST /admin/select leaves no trace", () => {
  it.scopedLive("dry runs take no rate-limit room: the next chat request is served by the model they rank first", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ cache: { enabled: false } }, oneAMinute)
      for (let i = 0; i < 3; i++) {
        const dry = yield* call(url, "/admin/select", { body: chat("auto"), headers: bearer(master) })
        assert.strictEqual(dry.status, 200, dry.text)
        assert.strictEqual(dry.json.ranked[0].model, "gpt-4o-mini")
      }
      const served = yield* call(url, "/v1/chat/completions", { body: chat("auto"), headers: bearer(master) })
      assert.strictEqual(served.status, 200, served.text)
      assert.strictEqual(served.headers.get("x-modelgate-model"), "gpt-4o-mini")
      // The request took gpt-4o-mini's one slot: the dry run now ranks it out, as the gateway does.
      const after = yield* call(url, "/admin/select", { body: chat("auto"), headers: bearer(master) })
      assert.deepStrictEqual(after.json.ranked.map((r: any) => r.model), ["claude-haiku"])
    }))
})
