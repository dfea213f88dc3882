/**
 * A virtual key's `models` over GatewayLive and the fakes. Named ids,
 * `provider/model`, `auto`, fallbacks and failover stay inside the allowed
 * set, and a cached answer of another model is not replayed to the key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { bearer, call, chat, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const onlyMini = "mg-only-mini-secret"
const onlyHaiku = "mg-only-haiku-secret"
const keys = [
  { name: "mini-team", sha256: sha256(onlyMini), agentType: "mini", models: ["gpt-4o-mini"] },
  { name: "haiku-team", sha256: sha256(onlyHaiku), agentType: "haiku", models: ["claude-haiku"] }
]

describe("virtual key models", () => {
  it.scopedLive("explicit, provider/model, auto and streams never leave the allowed set, even on failover", () =>
    Effect.gen(function* () {
      const { anthropic, openai, url } = yield* serveOverFakes({ auth: { virtualKeys: keys }, cache: { enabled: false } })
      const named = yield* call(url, "/v1/chat/completions", { body: chat("anthropic/claude-haiku-4-5"), headers: bearer(onlyMini) })
      assert.strictEqual(named.status, 403)
      assert.strictEqual(named.json.error.code, "model_not_allowed")
      assert.isNotNull(named.headers.get("x-request-id"))
      const streamed = yield* call(url, "/v1/chat/completions", { body: chat("claude-haiku", "hi", { stream: true }), headers: bearer(onlyMini) })
      assert.strictEqual(streamed.status, 403)
      // OpenAI down: gpt-4o-mini's fallback (claude-haiku) is not the key's.
      yield* openai.persist(Fault.status(503))
      for (const model of ["gpt-4o-mini", "openai/gpt-4o-mini", "auto"]) {
        for (const stream of [false, true]) {
          const r = yield* call(url, "/v1/chat/completions", { body: chat(model, "hi", stream ? { stream: true } : {}), headers: bearer(onlyMini) })
          assert.notStrictEqual(r.status, 200, `${model} stream=${stream}: ${r.text.slice(0, 200)}`)
          assert.notStrictEqual(r.headers.get("x-modelgate-model"), "claude-haiku")
        }
      }
      assert.lengthOf(yield* anthropic.requests, 0)
      // The master key does fail over.
      const m = yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(master) })
      assert.strictEqual(m.status, 200)
      assert.strictEqual(m.headers.get("x-modelgate-model"), "claude-haiku")
    }), { timeout: 30_000 })

  it.scopedLive("a cached answer of a model the key may not use is never replayed to it", () =>
    Effect.gen(function* () {
      const { openai, url } = yield* serveOverFakes({ auth: { virtualKeys: keys } })
      const body = chat("gpt-4o-mini", "cache me", { temperature: 0 })
      // Master's answer to gpt-4o-mini comes from its fallback, claude-haiku, and is cached as claude-haiku's.
      yield* openai.persist(Fault.status(503))
      const first = yield* call(url, "/v1/chat/completions", { body, headers: bearer(master) })
      assert.strictEqual(first.headers.get("x-modelgate-model"), "claude-haiku")
      const again = yield* call(url, "/v1/chat/completions", { body: { ...body, model: "claude-haiku" }, headers: bearer(master) })
      assert.strictEqual(again.headers.get("x-modelgate-cache"), "hit")
      const team = yield* call(url, "/v1/chat/completions", { body, headers: bearer(onlyMini) })
      assert.notStrictEqual(team.headers.get("x-modelgate-model"), "claude-haiku", team.text)
      for (const stream of [true]) {
        const s = yield* call(url, "/v1/chat/completions", { body: { ...body, stream }, headers: bearer(onlyMini) })
        assert.notStrictEqual(s.headers.get("x-modelgate-model"), "claude-haiku", s.text)
      }
      // auto for the haiku team: served by claude-haiku (openai is down anyway), cached, then a hit.
      const autoBody = chat("auto", "auto cache", { temperature: 0 })
      const a1 = yield* call(url, "/v1/chat/completions", { body: autoBody, headers: bearer(onlyHaiku) })
      assert.strictEqual(a1.status, 200)
      const a2 = yield* call(url, "/v1/chat/completions", { body: autoBody, headers: bearer(onlyHaiku) })
      assert.strictEqual(a2.headers.get("x-modelgate-cache"), "hit", "a key's own cached answers are replayed to it")
      // The mini team's auto never gets the haiku team's answer.
      const a3 = yield* call(url, "/v1/chat/completions", { body: autoBody, headers: bearer(onlyMini) })
      assert.notStrictEqual(a3.headers.get("x-modelgate-model"), "claude-haiku")
    }), { timeout: 30_000 })
})
