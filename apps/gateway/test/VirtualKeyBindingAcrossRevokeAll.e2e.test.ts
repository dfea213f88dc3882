/**
 * A chat request let in with a virtual key keeps that key's binding (its
 * models, its agent type) to the end, even when a reload removes every
 * virtual key while its body is still arriving: it must not be served as an
 * unbound request (any model, any agent type's budget).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as Http from "node:http"
import * as path from "node:path"
import { bearer, call, chat, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const teamKey = "mg-binding-team-secret"

/** POST `body` in two parts; `between` runs after the headers and the first part have gone. */
const slowPost = (url: string, route: string, headers: Record<string, string>, body: string, between: () => Promise<void>) =>
  Effect.promise(() =>
    new Promise<{ status: number; headers: Http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = Http.request(`${url}${route}`, { method: "POST", headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers } }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (d) => (text += d))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
      })
      req.on("error", reject)
      const half = Math.floor(body.length / 2)
      req.write(body.slice(0, half))
      req.flushHeaders()
      // The server reads and admits the headers at once on loopback; 300 ms leaves room on a busy machine
      // (nothing the server exposes marks that moment: a key's count moves only once its body is read).
      setTimeout(() => {
        between().then(() => req.end(body.slice(half)), reject)
      }, 300)
    }))

describe("virtual key binding when every key is revoked mid-request", () => {
  for (const route of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
    it.scopedLive(`the in-flight request keeps its key's models and agent type (${route})`, () =>
      Effect.gen(function* () {
        const { dir, url } = yield* serveOverFakes({
          auth: { virtualKeys: [{ name: "team", sha256: sha256(teamKey), agentType: "team", models: ["claude-haiku"] }] },
          cache: { enabled: false }
        })
        // The key may not use gpt-4o-mini.
        assert.strictEqual((yield* call(url, route, { body: chat("gpt-4o-mini"), headers: bearer(teamKey) })).status, 403)
        const revokeAll = async () => {
          const file = path.join(dir, "gateway.json")
          const gateway = JSON.parse(fs.readFileSync(file, "utf8"))
          gateway.auth.virtualKeys = []
          fs.writeFileSync(file, JSON.stringify(gateway))
          const r = await fetch(`${url}/admin/reload`, { method: "POST", headers: bearer(master) })
          assert.strictEqual(r.status, 200)
        }
        const reply = yield* slowPost(url, route, bearer(teamKey), JSON.stringify(chat("gpt-4o-mini", "sneak in")), revokeAll)
        assert.strictEqual(reply.status, 403, `served unbound: ${reply.headers["x-modelgate-model"]} ${reply.text.slice(0, 200)}`)
        // The key is gone for the next request.
        assert.strictEqual((yield* call(url, route, { body: chat("claude-haiku"), headers: bearer(teamKey) })).status, 401)
      }), { timeout: 30_000 })
  }
})
