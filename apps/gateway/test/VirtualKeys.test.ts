/**
 * Virtual keys: a team's own key opens `/v1/*` (never `/admin/*`), its
 * requests are accounted to the team's agent type whatever they state, the
 * configuration keeps only each key's SHA-256, and a reload adds or revokes
 * keys on the running server.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import type { Headers } from "@effect/platform"
import { Events } from "@modelgate/core/Events"
import { Gateway, type RequestOptions } from "@modelgate/core/Gateway"
import { parseIssues } from "@modelgate/core/ConfigFiles"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { AuthConfig, defaultConfig, GatewayConfigData, VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { BudgetExceededEvent } from "@modelgate/domain/Events"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { ConfigProvider, Effect, Either, Fiber, Option, Redacted, Schedule, Schema, SubscriptionRef } from "effect"
import { createHash } from "node:crypto"
import * as Auth from "../src/http/Auth.js"
import { describeNewKey, newVirtualKey } from "../src/cli/Keys.js"
import { chatBody, post, request } from "./support/Client.js"
import { baseUrl, echoGateway, meta, response, seen, serverLayer } from "./support/Doubles.js"

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex")
const searchKey = "mg-search-team-secret"
const opsKey = "mg-ops-team-secret"
const master = "mk-master-secret"
const teams = [
  { name: "search-team", sha256: sha256(searchKey), agentType: "search" },
  // Upper case hex is the same digest.
  { name: "ops", sha256: sha256(opsKey).toUpperCase() }
]
const as = (key: string) => ({ authorization: `Bearer ${key}` })
/** Headers as the server hands them to `Auth` (Node's plain header object). */
const headers = (values: Record<string, string>) => values as unknown as Headers.Headers

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
          // A key that names no agent type keeps the request's own.
          yield* post(path, chatBody(), { ...as(opsKey), "x-modelgate-agent-type": "coder" })
          assert.strictEqual(lastAgentType(), "coder", path)
        }
      }))

    it.effect("a team's /v1/events leaves out other teams' budget events", () =>
      Effect.gen(function* () {
        const events = yield* Events
        const url = yield* baseUrl
        const controller = new AbortController()
        const reader = yield* Effect.fork(
          Effect.promise(async () => {
            const res = await fetch(`${url}/v1/events`, { headers: as(searchKey), signal: controller.signal })
            const decoder = new TextDecoder()
            let text = ""
            for await (const part of res.body!) {
              text += decoder.decode(part, { stream: true })
              const budgets = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)).budget as string)
              if (budgets.length >= 4) return budgets
            }
            return []
          })
        )
        const exceeded = (budget: string) => new BudgetExceededEvent({ at: 1, budget, period: "daily", spentUsd: 2, limitUsd: 1 })
        // The subscription starts when the request arrives: publish until the reader has enough.
        const publisher = yield* Effect.fork(
          Effect.repeat(Effect.forEach(["agentType:other", "agentType:search", "global"], (b) => events.publish(exceeded(b))), Schedule.spaced("20 millis"))
        )
        const budgets = yield* Fiber.join(reader)
        yield* Fiber.interrupt(publisher)
        controller.abort()
        assert.lengthOf(budgets, 4)
        assert.notInclude(budgets, "agentType:other")
        assert.includeMembers(budgets, ["agentType:search", "global"])
      }), { timeout: 10_000 })

    it.effect("a team's /v1/metrics shows its own agent type only", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* request("/v1/metrics?agentType=other&model=gpt-test", { headers: as(searchKey) })).status, 200)
        assert.deepStrictEqual(seen.metrics, { agentType: "search", model: "gpt-test" })
        yield* request("/v1/metrics?agentType=other", { headers: as(opsKey) })
        assert.deepStrictEqual(seen.metrics, { agentType: "other" })
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
  })

  it.scoped("a reload adds and revokes keys on the running auth", () =>
    Effect.gen(function* () {
      const configOf = (virtualKeys: typeof teams) =>
        GatewayConfigData.make({ ...defaultConfig, auth: AuthConfig.make({ virtualKeys: virtualKeys.map((k) => VirtualKey.make(k)) }) })
      const ref = yield* SubscriptionRef.make(configOf([teams[0]!]))
      const config = GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) })
      const auth = yield* Auth.fromConfig.pipe(
        Effect.provideService(GatewayConfig, config),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      const admits = (key: string) => auth.gateway(headers(as(key))) === undefined
      assert.isTrue(admits(searchKey))
      assert.isFalse(admits(opsKey))

      yield* SubscriptionRef.set(ref, configOf([teams[1]!]))
      // The auth follows the configuration on its own fiber: let it run until it has the change.
      const until = (done: () => boolean) =>
        Effect.gen(function* () {
          for (let i = 0; i < 1_000 && !done(); i++) yield* Effect.yieldNow()
        })
      yield* until(() => admits(opsKey))
      assert.isTrue(admits(opsKey))
      assert.isFalse(admits(searchKey))
      // The last key gone and no master key: /v1/* is open again.
      yield* SubscriptionRef.set(ref, configOf([]))
      yield* until(() => auth.gateway(headers({})) === undefined)
      assert.isUndefined(auth.gateway(headers({})))
    }))

  it("keys new prints a key once with the entry that admits it, and the entry never holds the key", () => {
    const made = newVirtualKey("search-team", "search")
    const text = describeNewKey(made)
    assert.include(text, made.key)
    const entry = JSON.parse(text.trim().split("\n").at(-1)!)
    assert.deepStrictEqual(entry, { name: "search-team", sha256: sha256(made.key), agentType: "search" })
    assert.notInclude(JSON.stringify(entry), made.key)
    const auth = Auth.make(Option.none(), [VirtualKey.make(entry)])
    assert.isUndefined(auth.gateway(headers(as(made.key))))
    assert.strictEqual(auth.agentTypeOf(headers(as(made.key))), "search")
    assert.notStrictEqual(newVirtualKey("search-team", undefined).key, made.key)
  })

  it("the configuration rejects a key that is not a SHA-256 and two keys with one name, naming the entry", () => {
    const decode = Schema.decodeUnknownEither(AuthConfig)
    const notHash = decode({ virtualKeys: [{ name: "a", sha256: searchKey }] })
    assert.isTrue(Either.isLeft(notHash))
    if (Either.isLeft(notHash)) {
      // As `modelgate config validate` and a rejected reload report it: the path and the message, not the value.
      const [issue] = parseIssues(notHash.left)
      assert.strictEqual(issue?.path, "virtualKeys[0].sha256")
      assert.include(issue?.message, "64 hex digits")
      assert.notInclude(issue?.message, searchKey)
    }
    const twice = decode({ virtualKeys: [teams[0], { ...teams[1], name: "search-team" }] })
    assert.isTrue(Either.isLeft(twice) && twice.left.message.includes("two virtual keys are named \"search-team\""))
    const sameHash = decode({ virtualKeys: [teams[0], { ...teams[0], name: "other" }] })
    assert.isTrue(Either.isLeft(sameHash) && sameHash.left.message.includes("same sha256"))
    assert.isTrue(Either.isRight(decode({ virtualKeys: teams })))
  })

  it("a master key alone keeps its old behaviour: no agent type is forced", () => {
    const auth = Auth.make(Option.some(Redacted.make(master)))
    assert.isUndefined(auth.gateway(headers(as(master))))
    assert.isUndefined(auth.agentTypeOf(headers(as(master))))
    assert.strictEqual(auth.gateway(headers(as(searchKey)))?.status, 401)
  })
})
