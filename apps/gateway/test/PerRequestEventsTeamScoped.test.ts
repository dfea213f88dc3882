/**
 * The per-request events on `/v1/events` (`ModelSelected`, `Failover`,
 * `LowQualityResponse`): a team's virtual key hears its own requests' events
 * only, never another team's nor those of requests with no agent type (their
 * ids, models and timing are not its business); the master key hears all.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Fiber, Schedule } from "effect"
import { readSse } from "./support/Client.js"
import { bearer, call, chat, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const teamA = "vk-team-a-secret-value"
const teamB = "vk-team-b-secret-value"

describe("per-request events on /v1/events", () => {
  it.scopedLive("a team hears its own requests' selections and failovers, none of another team's or the master key's; the master key hears all", () =>
    Effect.gen(function* () {
      const { openai, server, url } = yield* serveOverFakes({
        cache: { enabled: false },
        auth: {
          virtualKeys: [
            { name: "team-a-key", sha256: sha256(teamA), agentType: "team-a" },
            { name: "team-b-key", sha256: sha256(teamB), agentType: "team-b" }
          ]
        }
      })
      const ask = (key: string) =>
        Effect.map(call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(key) }), (reply) => {
          assert.strictEqual(reply.status, 200)
          return reply.headers.get("x-request-id")!
        })
      // Requests of team A sent after the others': once a stream has A's selection of one, it had its chance at theirs.
      const markers = new Set<string>()
      const heard = { team: [] as Array<any>, master: [] as Array<any> }
      const selectedIn = (who: keyof typeof heard, ids: ReadonlySet<string> | undefined) =>
        heard[who].some((e) => e._tag === "ModelSelected" && (ids === undefined || ids.has(e.requestId)))
      const follow = (who: keyof typeof heard, key: string) =>
        Effect.fork(
          Effect.provideService(
            readSse("/v1/events", bearer(key), (data) => {
              heard[who] = [...data]
              return selectedIn(who, markers) ? true : undefined
            }),
            HttpServer.HttpServer,
            server
          )
        )
      const readers = [yield* follow("team", teamA), yield* follow("master", master)]
      // Each subscription starts when its request arrives: ask as team A until both have heard a selection.
      yield* Effect.repeat(ask(teamA), {
        schedule: Schedule.spaced("20 millis"),
        until: () => selectedIn("team", undefined) && selectedIn("master", undefined)
      })

      // Team A's request fails over (gpt-4o-mini answers 503, its fallback claude-haiku answers); then team B's and the master key's.
      yield* openai.script(Fault.status(503))
      const own = yield* ask(teamA)
      const other = yield* ask(teamB)
      const unbound = yield* ask(master)
      yield* Effect.repeat(Effect.map(ask(teamA), (id) => markers.add(id)), {
        schedule: Schedule.spaced("20 millis"),
        until: () => selectedIn("team", markers) && selectedIn("master", markers)
      })
      yield* Fiber.join(Fiber.all(readers))

      const of = (who: keyof typeof heard, requestId: string) =>
        heard[who].filter((e) => e.requestId === requestId).map((e) => [e._tag, e.agentType, e.model ?? e.to])
      assert.deepStrictEqual(of("team", own), [["Failover", "team-a", "claude-haiku"], ["ModelSelected", "team-a", "claude-haiku"]])
      assert.deepStrictEqual(of("master", own), of("team", own))
      assert.deepStrictEqual(of("team", other), [])
      assert.deepStrictEqual(of("team", unbound), [])
      assert.deepStrictEqual(of("master", other), [["ModelSelected", "team-b", "gpt-4o-mini"]])
      assert.deepStrictEqual(of("master", unbound), [["ModelSelected", undefined, "gpt-4o-mini"]])
      for (const e of heard.team) {
        if (e._tag === "ModelSelected" || e._tag === "Failover") assert.strictEqual(e.agentType, "team-a")
      }
      assert.notInclude(JSON.stringify(heard.team), "team-b")
    }), { timeout: 15_000 })
})
