/**
 * A virtual key that names no `agentType` (its requests keep the agent type
 * they state) has no team's traffic of its own to read: `/v1/events` shows it
 * no per-request event (neither another team's nor any other request's) and
 * no agent type's budget events, and `/v1/metrics` refuses it with a 403
 * that says what to configure, never every team's figures as to the master key.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import * as path from "node:path"
import { readSse } from "./support/Client.js"
import { bearer, call, chat, editJson, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const teamA = "vk-team-a-secret-value"
const plain = "vk-plain-secret-value"
const keys = [
  { name: "team-a-key", sha256: sha256(teamA), agentType: "team-a" },
  { name: "plain-key", sha256: sha256(plain) }
]

describe("a virtual key without an agentType", () => {
  it.scopedLive("GET /v1/metrics: a 403 naming the key and what it lacks, none of another team's figures", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ cache: { enabled: false }, auth: { virtualKeys: keys } })
      assert.strictEqual((yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamA) })).status, 200)
      assert.deepStrictEqual((yield* call(url, "/v1/metrics", { headers: bearer(teamA) })).json.models.map((m: any) => m.model), ["gpt-4o-mini"])

      const reply = yield* call(url, "/v1/metrics", { headers: bearer(plain) })
      assert.strictEqual(reply.status, 403)
      assert.strictEqual(reply.json.error.code, "virtual_key_without_agent_type")
      assert.include(reply.json.error.message, `"plain-key"`)
      assert.include(reply.json.error.message, "agentType")
      assert.notInclude(reply.text, "gpt-4o-mini")
    }), { timeout: 60_000 })

  it.scopedLive("GET /v1/events: no other team's per-request events; the events about no request still arrive", () =>
    Effect.gen(function* () {
      const { dir, server, url } = yield* serveOverFakes({ cache: { enabled: false }, auth: { virtualKeys: keys } })
      // A stream ends at a ConfigRejected published from `endAt` on (Infinity until the team's request is answered).
      let endAt = Number.POSITIVE_INFINITY
      const heard = { plain: [] as Array<any>, master: [] as Array<any> }
      const rejected = (who: keyof typeof heard) => heard[who].filter((e) => e._tag === "ConfigRejected")
      const follow = (who: keyof typeof heard, key: string) =>
        Effect.fork(
          Effect.provideService(
            readSse("/v1/events", bearer(key), (data) => {
              heard[who] = [...data]
              return data.some((e) => e._tag === "ConfigRejected" && e.at >= endAt) ? true : undefined
            }),
            HttpServer.HttpServer,
            server
          )
        )
      const readers = [yield* follow("plain", plain), yield* follow("master", master)]
      yield* editJson(path.join(dir, "gateway.json"), (gateway) => {
        gateway.cache.enabled = "no"
      })
      const reload = call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      // Each subscription starts when its request arrives: reload (rejected) until both have heard a rejection.
      yield* Effect.repeat(reload, { schedule: Schedule.spaced("20 millis"), until: () => rejected("plain").length > 0 && rejected("master").length > 0 })

      const own = yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamA) })
      assert.strictEqual(own.status, 200)
      const requestId = own.headers.get("x-request-id")!
      endAt = Date.now() + 1
      yield* Effect.repeat(reload, { schedule: Schedule.spaced("20 millis"), until: () => readers.every((r) => r.unsafePoll() !== null) })
      yield* Fiber.join(Fiber.all(readers))

      assert.deepStrictEqual(heard.master.filter((e) => e.requestId === requestId).map((e) => [e._tag, e.agentType]), [["ModelSelected", "team-a"]])
      assert.deepStrictEqual(heard.plain.filter((e) => e.requestId === requestId), [])
      assert.notInclude(JSON.stringify(heard.plain), "team-a")
      assert.isTrue(rejected("plain").length > 0)
    }), { timeout: 60_000 })
})
