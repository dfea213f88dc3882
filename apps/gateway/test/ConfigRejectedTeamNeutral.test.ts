/**
 * `ConfigRejected` on `/v1/events`: a team's virtual key hears that a file
 * was rejected and the running configuration stays, never the path and
 * reason (they may name other teams' agent types or keys); the master key
 * hears all of it.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import * as path from "node:path"
import { readSse } from "./support/Client.js"
import { bearer, call, chat, editJson, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const teamKey = "vk-team-a-secret-value"

describe("ConfigRejected on /v1/events", () => {
  it.scopedLive("a team hears the file rejected without the path or the reason; the master key hears both", () =>
    Effect.gen(function* () {
      const { dir, server, url } = yield* serveOverFakes({
        cache: { enabled: false },
        auth: { virtualKeys: [{ name: "team-a-key", sha256: sha256(teamKey), agentType: "team-a" }] },
        budgets: { perAgentType: { "team-b": { daily: 5 } } }
      })
      const heard = { team: [] as Array<any>, master: [] as Array<any> }
      const follow = (who: keyof typeof heard, key: string) =>
        Effect.fork(
          Effect.provideService(
            readSse("/v1/events", bearer(key), (data) => {
              heard[who] = [...data]
              return data.some((e) => e._tag === "ConfigRejected") ? true : undefined
            }),
            HttpServer.HttpServer,
            server
          )
        )
      const readers = [yield* follow("team", teamKey), yield* follow("master", master)]
      // Each subscription starts when its request arrives: ask as the team (it hears its own requests' selections only)
      // until both have heard an answer's selection.
      yield* Effect.repeat(call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamKey) }), {
        schedule: Schedule.spaced("20 millis"),
        until: () => Object.values(heard).every((seen) => seen.some((e) => e._tag === "ModelSelected"))
      })

      const file = path.join(dir, "gateway.json")
      yield* editJson(file, (gateway) => {
        gateway.budgets.perAgentType["team-b"].daily = -1
      })
      assert.strictEqual((yield* call(url, "/admin/reload", { method: "POST", headers: bearer(master) })).status, 400)
      yield* Fiber.join(Fiber.all(readers))

      const rejected = (who: keyof typeof heard) => heard[who].find((e) => e._tag === "ConfigRejected")
      assert.include(rejected("master").reason, `budgets.perAgentType["team-b"].daily`)
      assert.strictEqual(rejected("master").file, file)
      assert.deepStrictEqual(
        { ...rejected("team"), at: 0 },
        { _tag: "ConfigRejected", at: 0, file, reason: "rejected; the running configuration stays" }
      )
      assert.notInclude(JSON.stringify(heard.team), "team-b")
    }), { timeout: 15_000 })
})
