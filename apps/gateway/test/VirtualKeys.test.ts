/**
 * Virtual keys over a real socket: a team's own key opens `/v1/*` (never
 * `/admin/*`), its requests are accounted to the team's agent type whatever
 * they state, on every chat route, and its metrics and events are its own.
 * `Auth` alone (reloads, rpm, the configuration): VirtualKeysAuth.test.ts.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Events } from "@modelgate/core/Events"
import { Gateway, type RequestOptions } from "@modelgate/core/Gateway"
import { BudgetExceededEvent, ModelSwitchRecommended } from "@modelgate/domain/Events"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Fiber, Schedule } from "effect"
import { createHash } from "node:crypto"
import { chatBody, post, readSse, request } from "./support/Client.js"
import { echoGateway, meta, response, seen, serverLayer } from "./support/Doubles.js"

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex")
const searchKey = "mg-search-team-secret"
const opsKey = "mg-ops-team-secret"
const master = "mk-master-secret"
const teams = [
  { name: "search-team", sha256: sha256(searchKey), agentType: "search", rpm: 1_000 },
  // Upper case hex is the same digest.
  { name: "ops", sha256: sha256(opsKey).toUpperCase(), models: ["gpt-test"] as const }
]
const as = (key: string) => ({ authorization: `Bearer ${key}` })

const calls: Array<{ requirements: TaskRequirements; options: RequestOptions | undefined }> = []
const recording = Gateway.of({
  complete: (_request, requirements, options) => {
    calls.push({ requirements, options })
    return Effect.succeed({ response: response("ok"), meta: meta(options?.requestId) })
  },
  stream: (request, requirements, options) => {
    calls.push({ requirements, options })
    return echoGateway.stream(request, requirements, options)
  }
})
const lastAgentType = () => calls.at(-1)?.requirements.agentType

describe("virtual keys", () => {
  layer(serverLayer(recording, { virtualKeys: teams }), { excludeTestServices: true })((it) => {
    it.effect("without a master key they close /v1/* to everyone else, and admin stays disabled", () =>
      Effect.gen(function* () {
        const none = yield* post("/v1/chat/completions", chatBody())
        assert.strictEqual(none.status, 401)
        assert.strictEqual(none.json.error.code, "invalid_api_key")
        const wrong = yield* post("/v1/chat/completions", chatBody(), as("mg-not-a-key"))
        assert.strictEqual(wrong.status, 401)
        assert.notInclude(wrong.text, "mg-not-a-key")
        assert.strictEqual((yield* request("/v1/models")).status, 401)
        assert.strictEqual((yield* request("/v1/models", { headers: as(opsKey) })).status, 200)
        const admin = yield* request("/admin/models", { headers: as(searchKey) })
        assert.strictEqual(admin.status, 403)
        assert.strictEqual(admin.json.error.code, "admin_disabled")
        assert.strictEqual((yield* request("/health")).status, 200)
      }))

    it.effect("a team's requests are accounted to its agent type, whatever the body or headers say, on every route", () =>
      Effect.gen(function* () {
        for (const path of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
          const body = chatBody({ modelgate: { agentType: "planner", priority: "HIGH" } })
          const json = yield* post(path, body, { ...as(searchKey), "x-modelgate-agent-type": "coder" })
          assert.strictEqual(json.status, 200, path)
          assert.strictEqual(lastAgentType(), "search", path)
          // The rest of what the request states still holds.
          assert.strictEqual(calls.at(-1)?.requirements.priority, "HIGH")
          const streamed = yield* post(path, chatBody({ stream: true }), { ...as(searchKey), "x-modelgate-agent-type": "coder" })
          assert.strictEqual(streamed.status, 200, path)
          assert.strictEqual(lastAgentType(), "search", path)
          // A key that names no agent type keeps the request's own; its models are the only ones allowed.
          yield* post(path, chatBody(), { ...as(opsKey), "x-modelgate-agent-type": "coder" })
          assert.strictEqual(lastAgentType(), "coder", path)
          assert.deepStrictEqual(calls.at(-1)?.requirements.allowedModels, ["gpt-test"], path)
          // The request asks the auth whether its key still lets it in: a reload revoking the key ends its wait in the queue (KeyRevoked).
          assert.strictEqual(calls.at(-1)?.options?.keyRevoked?.(), false, path)
        }
      }))

    it.effect("a team's /v1/events leaves out other teams' budget events", () =>
      Effect.gen(function* () {
        const events = yield* Events
        const reader = yield* Effect.fork(
          readSse("/v1/events", as(searchKey), (data) => (data.length >= 4 ? data.map((d) => d.budget as string) : undefined))
        )
        const exceeded = (budget: string) => new BudgetExceededEvent({ at: 1, budget, period: "daily", spentUsd: 2, limitUsd: 1 })
        // The subscription starts when the request arrives: publish until the reader has enough.
        const publisher = yield* Effect.fork(
          Effect.repeat(Effect.forEach(["agentType:other", "agentType:search", "global"], (b) => events.publish(exceeded(b))), Schedule.spaced("20 millis"))
        )
        const budgets = (yield* Fiber.join(reader)).value ?? []
        yield* Fiber.interrupt(publisher)
        assert.lengthOf(budgets, 4)
        assert.notInclude(budgets, "agentType:other")
        assert.includeMembers(budgets, ["agentType:search", "global"])
      }), { timeout: 10_000 })

    it.effect("a team's /v1/events shows switch recommendations for its own requests' task types only", () =>
      Effect.gen(function* () {
        const events = yield* Events
        const reader = yield* Effect.fork(
          readSse("/v1/events", as(searchKey), (data) => {
            const seen = data.filter((d) => d._tag === "ModelSwitchRecommended")
            return seen.length >= 4 ? seen.slice(0, 4) : undefined
          })
        )
        const recommended = (taskType: string | undefined, agentTypes: ReadonlyArray<string>) =>
          ModelSwitchRecommended.make({ at: 1, model: "gpt-test", ...(taskType === undefined ? {} : { taskType }), lowScores: 3, windowMs: 60_000, agentTypes })
        // The subscription starts when the request arrives: publish until the reader has enough.
        const publisher = yield* Effect.fork(
          Effect.repeat(
            Effect.forEach([recommended("acme-merger-review", ["other"]), recommended("qa", ["other", "search"]), recommended(undefined, ["other"])], events.publish),
            Schedule.spaced("20 millis")
          )
        )
        const seen = (yield* Fiber.join(reader)).value ?? []
        yield* Fiber.interrupt(publisher)
        assert.lengthOf(seen, 4)
        assert.notInclude(JSON.stringify(seen), "acme-merger-review", "another team's task type")
        assert.notInclude(JSON.stringify(seen), "other", "another team's agent type")
        // Its own task type's, and the model's for requests of no task type (as a model's other alerts), without who else scored low.
        assert.includeMembers(seen.map((e) => e.taskType ?? "(none)"), ["qa", "(none)"])
      }), { timeout: 10_000 })

    it.effect("a team's /v1/metrics shows its own agent type only", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* request("/v1/metrics?agentType=other&model=gpt-test", { headers: as(searchKey) })).status, 200)
        assert.deepStrictEqual(seen.metrics, { agentType: "search", model: "gpt-test" })
        // A key naming no agent type has no team's figures: it reads no other agent type's either (only the master key does).
        const unscoped = yield* request("/v1/metrics?agentType=other", { headers: as(opsKey) })
        assert.strictEqual(unscoped.status, 403)
        assert.strictEqual(unscoped.json.error.code, "virtual_key_without_agent_type")
        assert.deepStrictEqual(seen.metrics, { agentType: "search", model: "gpt-test" })
      }))
  })

  const limitedKey = "mg-limited-team-secret"
  layer(serverLayer(recording, { virtualKeys: [{ name: "limited", sha256: sha256(limitedKey), rpm: 2 }] }), { excludeTestServices: true })((it) => {
    it.effect("a key over its rpm gets 429 with Retry-After on every chat route; other /v1/* reads do not count", () =>
      Effect.gen(function* () {
        for (let i = 0; i < 3; i++) assert.strictEqual((yield* request("/v1/models", { headers: as(limitedKey) })).status, 200)
        assert.strictEqual((yield* post("/v1/chat/completions", chatBody(), as(limitedKey))).status, 200)
        assert.strictEqual((yield* post("/v1/chat/completions?via=router", chatBody({ stream: true }), as(limitedKey))).status, 200)
        for (const path of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
          const refused = yield* post(path, chatBody(), as(limitedKey))
          assert.strictEqual(refused.status, 429, path)
          assert.strictEqual(refused.json.error.code, "virtual_key_rate_limited")
          assert.strictEqual(refused.json.error.type, "rate_limit_error")
          assert.include(refused.json.error.message, "limit of 2 requests a minute")
          const wait = Number(refused.headers.get("retry-after"))
          assert.isTrue(wait > 0 && wait <= 60, `retry-after ${wait}`)
          assert.match(refused.headers.get("x-request-id") ?? "", /^mg-/)
        }
      }))
  })

  layer(serverLayer(recording, { masterKey: master, virtualKeys: teams }), { excludeTestServices: true })((it) => {
    it.effect("beside a master key: the master key is not bound to a team, and a virtual key never opens the admin API", () =>
      Effect.gen(function* () {
        yield* post("/v1/chat/completions", chatBody(), { ...as(master), "x-modelgate-agent-type": "coder" })
        assert.strictEqual(lastAgentType(), "coder")
        const admin = yield* request("/admin/models", { headers: as(searchKey) })
        assert.strictEqual(admin.status, 403)
        assert.strictEqual(admin.json.error.code, "virtual_key_not_admin")
        assert.include(admin.json.error.message, "search-team")
        assert.notInclude(admin.text, searchKey)
        assert.strictEqual((yield* request("/admin/models", { headers: as(master) })).status, 200)
        assert.strictEqual((yield* request("/admin/models", { headers: as("mg-not-a-key") })).status, 401)
      }))

    it.effect("admin lists the virtual keys with their use, never their digests", () =>
      Effect.gen(function* () {
        for (let i = 0; i < 2; i++) yield* post("/v1/chat/completions", chatBody(), as(searchKey))
        assert.strictEqual((yield* request("/admin/keys", { headers: as(searchKey) })).status, 403)
        const listed = yield* request("/admin/keys", { headers: as(master) })
        assert.strictEqual(listed.status, 200)
        assert.deepStrictEqual(listed.json, {
          virtualKeys: [{ name: "search-team", agentType: "search", rpm: 1_000, lastMinute: 2 }, { name: "ops", models: ["gpt-test"] }]
        })
        for (const team of teams) assert.notInclude(listed.text.toLowerCase(), team.sha256.toLowerCase())
      }))
  })
})
