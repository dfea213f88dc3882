/**
 * Virtual keys across `POST /admin/reload` over GatewayLive and the
 * fakes: a revoked key is refused on the next request while an in-flight one
 * finishes; a reload with a bad entry keeps the running keys and never echoes
 * what was pasted as the digest.
 */
import { assert, describe, it } from "@effect/vitest"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Fiber } from "effect"
import * as path from "node:path"
import { bearer, call, chat, editJson, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const teamKey = "mg-reload-team-secret-value"
const otherKey = "mg-reload-other-secret-value"

const rewrite = (dir: string, change: (gateway: any) => void) => editJson(path.join(dir, "gateway.json"), change)

describe("virtual keys across reloads", () => {
  it.scopedLive("a revoked key is refused on the very next request; an in-flight request finishes", () =>
    Effect.gen(function* () {
      const { dir, openai, url } = yield* serveOverFakes({
        auth: { virtualKeys: [{ name: "team", sha256: sha256(teamKey), agentType: "team" }] },
        cache: { enabled: false }
      })
      assert.strictEqual((yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamKey) })).status, 200)
      const gate = yield* Effect.makeLatch(false)
      yield* openai.script(Fault.hold(gate))
      const inFlight = yield* Effect.fork(call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamKey) }))
      yield* openai.awaitHeld(1)
      for (let round = 0; round < 20; round++) {
        yield* rewrite(dir, (g) => {
          g.auth.virtualKeys = round % 2 === 0 ? [] : [{ name: "team", sha256: sha256(teamKey), agentType: "team" }]
        })
        const reloaded = yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
        assert.strictEqual(reloaded.status, 200, reloaded.text)
        const next = yield* call(url, "/v1/models", { headers: bearer(teamKey) })
        assert.strictEqual(next.status, round % 2 === 0 ? 401 : 200, `round ${round}`)
      }
      yield* rewrite(dir, (g) => {
        g.auth.virtualKeys = []
      })
      yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      const refused = yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamKey) })
      assert.strictEqual(refused.status, 401)
      assert.strictEqual(refused.json.error.type, "authentication_error")
      assert.isNotNull(refused.headers.get("x-request-id"))
      yield* gate.open
      const finished = yield* Fiber.join(inFlight)
      assert.strictEqual(finished.status, 200, finished.text)
    }), { timeout: 30_000 })

  it.scopedLive("a reload with a bad virtual-key entry keeps the running keys and does not echo the pasted secret", () =>
    Effect.gen(function* () {
      const { dir, url } = yield* serveOverFakes({
        auth: { virtualKeys: [{ name: "team", sha256: sha256(teamKey), agentType: "team" }] },
        cache: { enabled: false }
      })
      // The operator pasted the key itself, not its SHA-256, for a new team.
      yield* rewrite(dir, (g) => {
        g.auth.virtualKeys = [{ name: "other", sha256: otherKey }]
      })
      const reloaded = yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      assert.strictEqual(reloaded.status, 400, reloaded.text)
      assert.notInclude(reloaded.text, otherKey)
      assert.strictEqual((yield* call(url, "/v1/models", { headers: bearer(teamKey) })).status, 200)
      assert.strictEqual((yield* call(url, "/v1/models", { headers: bearer(otherKey) })).status, 401)
      // Duplicate names: rejected too, the running key stays.
      yield* rewrite(dir, (g) => {
        g.auth.virtualKeys = [{ name: "team", sha256: sha256(otherKey) }, { name: "team", sha256: sha256("x") }]
      })
      assert.strictEqual((yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })).status, 400)
      assert.strictEqual((yield* call(url, "/v1/models", { headers: bearer(teamKey) })).status, 200)
    }), { timeout: 30_000 })
})
