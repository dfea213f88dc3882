/**
 * A model moved to another provider (`PATCH /admin/models/:id`) while calls
 * to its old provider are in flight, end to end over real sockets: the old
 * provider never answers, and the three calls sent there time out after the
 * move. They tell of the old endpoint only: the model stays available and
 * the next request of it goes to its new provider. Before, those three late
 * failures took the model out (health checks off: until its retry a minute
 * later) and the next request went to its fallback instead.
 */
import { assert, describe, it } from "@effect/vitest"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Effect, Fiber } from "effect"
import { post, serveAll } from "./support/FourProviderStack.js"

const master = "mg-master-model-moved-test"
const bearer = { authorization: `Bearer ${master}` }
const chat = { model: "gpt", max_tokens: 20, messages: [{ role: "user", content: "hi" }] }

const admin = (url: string, path: string, init: RequestInit = {}) =>
  Effect.promise(() =>
    fetch(`${url}${path}`, { ...init, headers: { "content-type": "application/json", ...bearer } })
      .then(async (r) => ({ status: r.status, json: await r.json() as any }))
  )

describe("a model moved to another provider while calls to the old one are in flight", () => {
  it.scopedLive("their late failures do not take it out: the next request goes to its new provider", () =>
    Effect.gen(function* () {
      const silent = yield* LoopbackServer.make(() => {})
      const s = yield* serveAll({ healthCheck: { enabled: false, failureThreshold: 3 } }, { openai: silent.url }, { MODELGATE_MASTER_KEY: master })
      const inFlight = yield* Effect.fork(Effect.all([1, 2, 3].map(() => post(s.url, chat, bearer)), { concurrency: "unbounded" }))
      yield* silent.arrived(3)
      const moved = yield* admin(s.url, "/admin/models/gpt", {
        method: "PATCH",
        body: JSON.stringify({ provider: "anthropic", providerModel: "claude-haiku-4-5" })
      })
      assert.strictEqual(moved.status, 200, JSON.stringify(moved.json))
      // The three calls time out at the old provider (5 s) and fail over to the fallback.
      const late = yield* Fiber.join(inFlight)
      assert.deepStrictEqual(late.map((a) => a.status), [200, 200, 200], late.map((a) => a.text).join("\n"))
      const health = yield* admin(s.url, "/admin/health")
      const gpt = health.json.data.find((h: { model: string }) => h.model === "gpt")
      assert.notStrictEqual(gpt.status, "unavailable", gpt.reason)
      const before = (yield* s.anthropic.requests).length
      const next = yield* post(s.url, chat, bearer)
      assert.strictEqual(next.status, 200, next.text)
      assert.strictEqual((yield* s.anthropic.requests).length, before + 1, "the next request did not go to the model's new provider")
      assert.strictEqual(silent.requests.length, 3)
    }), 60_000)
})
