/**
 * The events of other instances on the same database reach `/v1/events`
 * through the same team filter as this instance's own: a team's virtual key
 * hears the other instances' selections of its own requests only, never
 * another team's nor those of requests with no agent type; the master key
 * hears all. Here the other instance is a second client of the gateway's
 * SQLite file appending to its event log (`events.syncIntervalMs` set, as
 * several processes on one file would).
 */
import { HttpServer } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { EventLogStore } from "@modelgate/core/EventLogStore"
import { GatewayEvent, ModelSelected } from "@modelgate/domain/Events"
import * as EventLogStoreSql from "@modelgate/sql/EventLogStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Context, Effect, Fiber, Layer, Schedule, Schema } from "effect"
import { readSse } from "./support/Client.js"
import { bearer, master, serveOverFakes, sha256 } from "./support/VkStack.js"

const teamA = "vk-team-a-secret-value"
const encode = Schema.encodeSync(Schema.parseJson(GatewayEvent))

describe("other instances' events on /v1/events", () => {
  it.scopedLive("a team hears the other instances' selections of its own requests only; the master key hears all", () =>
    Effect.gen(function* () {
      const { db, server } = yield* serveOverFakes({
        cache: { enabled: false },
        events: { syncIntervalMs: 50 },
        auth: { virtualKeys: [{ name: "team-a-key", sha256: sha256(teamA), agentType: "team-a" }] }
      })
      const other = Context.get(
        yield* Layer.build(EventLogStoreSql.layer.pipe(Layer.provideMerge(Sqlite.layer(db)), Layer.provide(NodeContext.layer))),
        EventLogStore
      )
      const heard = { team: [] as Array<any>, master: [] as Array<any> }
      const ownIn = (who: keyof typeof heard) => heard[who].some((e) => e.agentType === "team-a")
      const follow = (who: keyof typeof heard, key: string) =>
        Effect.fork(
          Effect.provideService(
            readSse("/v1/events", bearer(key), (data) => {
              heard[who] = [...data]
              return ownIn(who) ? true : undefined
            }),
            HttpServer.HttpServer,
            server
          )
        )
      const readers = [yield* follow("team", teamA), yield* follow("master", master)]
      // Each round appends team B's, then an unbound, then team A's selection, in that order: once a stream has
      // team A's of a round, it had its chance at the two before.
      let round = 0
      const selected = (requestId: string, agentType: string | undefined) =>
        ({ at: 1, data: encode(new ModelSelected({ at: 1, requestId, agentType, model: "gpt-4o-mini", score: 0.9, reason: "best" })) })
      yield* Effect.repeat(
        Effect.suspend(() => {
          round++
          return other.append("other-instance", [selected(`b-${round}`, "team-b"), selected(`none-${round}`, undefined), selected(`a-${round}`, "team-a")], Date.now())
        }),
        { schedule: Schedule.spaced("50 millis"), until: () => ownIn("team") && ownIn("master") }
      )
      yield* Fiber.join(Fiber.all(readers))

      assert.isNotEmpty(heard.team)
      for (const e of heard.team) assert.strictEqual(e.agentType, "team-a", JSON.stringify(e))
      // Each selection (this instance served no request) names the instance that published it.
      for (const e of [...heard.team, ...heard.master].filter((e) => e._tag === "ModelSelected")) {
        assert.strictEqual(e.instance, "other-instance", JSON.stringify(e))
      }
      const first = heard.master.find((e) => e.agentType === "team-a")
      const n = first.requestId.slice(2)
      assert.deepStrictEqual(
        heard.master.filter((e) => e.requestId?.endsWith(`-${n}`)).map((e) => [e.requestId, e.agentType]),
        [[`b-${n}`, "team-b"], [`none-${n}`, undefined], [`a-${n}`, "team-a"]]
      )
    }), { timeout: 15_000 })
})
