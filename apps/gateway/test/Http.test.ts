/**
 * The HTTP surface besides chat answers: headers, requirements passed to the
 * gateway, auth on and off, admin, events, readiness, metrics and costs.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Events } from "@modelgate/core/Events"
import { Gateway, type RequestOptions } from "@modelgate/core/Gateway"
import { type ChatRequest, extraParameters } from "@modelgate/domain/Chat"
import { HealthChanged } from "@modelgate/domain/Events"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Fiber, Schedule } from "effect"
import { chatBody, post, readSse, request } from "./support/Client.js"
import { echoGateway, meta, models, response, seen, serverLayer } from "./support/Doubles.js"

const calls: Array<{ request: ChatRequest; requirements: TaskRequirements; options: RequestOptions | undefined }> = []
const recording = Gateway.of({
  complete: (request, requirements, options) => {
    calls.push({ request, requirements, options })
    return Effect.succeed({ response: response("ok"), meta: meta(options?.requestId, { cacheHit: true, failovers: 2, costUsd: 0 }) })
  },
  stream: echoGateway.stream
})

describe("http", () => {
  // Live clock: these tests talk over real sockets.
  layer(serverLayer(recording), { excludeTestServices: true })((it) => {
    it.effect("every answer carries the modelgate headers and the client's request id", () =>
      Effect.gen(function* () {
        const reply = yield* post("/v1/chat/completions", chatBody(), { "x-request-id": "client-42" })
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.headers.get("x-request-id"), "client-42")
        assert.strictEqual(reply.headers.get("x-modelgate-cache"), "hit")
        assert.strictEqual(reply.headers.get("x-modelgate-failovers"), "2")
        assert.strictEqual(reply.headers.get("x-modelgate-cost-usd"), "0")
        assert.strictEqual(calls.at(-1)?.options?.requestId, "client-42")
        const models = yield* request("/v1/models")
        assert.match(models.headers.get("x-request-id") ?? "", /^mg-/)
        const a = (yield* post("/v1/chat/completions", chatBody())).headers.get("x-request-id")
        const b = (yield* post("/v1/chat/completions", chatBody())).headers.get("x-request-id")
        assert.notStrictEqual(a, b)
      }))

    it.effect("a streamed answer is SSE with the headers fixed before the first byte", () =>
      Effect.gen(function* () {
        const reply = yield* post("/v1/chat/completions", chatBody({ stream: true }), { "x-request-id": "s-1" })
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.headers.get("content-type"), "text/event-stream")
        assert.strictEqual(reply.headers.get("x-request-id"), "s-1")
        assert.strictEqual(reply.headers.get("x-modelgate-model"), "gpt-test")
        assert.strictEqual(reply.headers.get("x-modelgate-cache"), "miss")
        assert.isNull(reply.headers.get("x-modelgate-cost-usd"), "the cost of a stream is not known before it ends")
        const events = reply.text.split("\n\n").filter((e) => e !== "")
        assert.strictEqual(events.length, 3)
        assert.isTrue(events.every((e) => e.startsWith("data: ")))
        assert.strictEqual(events.at(-1), "data: [DONE]")
      }))

    it.effect("requirements come from the body's modelgate object, then the headers", () =>
      Effect.gen(function* () {
        yield* post(
          "/v1/chat/completions",
          chatBody({ modelgate: { priority: "CRITICAL", capabilities: ["code"], maxCostUsd: 0.01, maxLatencyMs: 2000, agentType: "planner" } }),
          { "x-modelgate-priority": "low", "x-modelgate-task-type": "summarize", "x-modelgate-cache-ttl": "30" }
        )
        const body = calls.at(-1)!
        assert.strictEqual(body.requirements.priority, "CRITICAL")
        assert.deepStrictEqual(body.requirements.capabilities, ["code"])
        assert.strictEqual(body.requirements.maxCostPerRequestUsd, 0.01)
        assert.strictEqual(body.requirements.maxLatencyMs, 2000)
        assert.strictEqual(body.requirements.agentType, "planner")
        assert.strictEqual(body.requirements.taskType, "summarize")
        assert.strictEqual(body.options?.cacheTtlMs, 30_000)

        yield* post("/v1/chat/completions", chatBody(), {
          "x-modelgate-priority": "high",
          "x-modelgate-capabilities": "code, Vision",
          "x-modelgate-agent-type": "coder"
        })
        const headers = calls.at(-1)!.requirements
        assert.strictEqual(headers.priority, "HIGH")
        assert.deepStrictEqual(headers.capabilities, ["code", "vision"])
        assert.strictEqual(headers.agentType, "coder")

        yield* post("/v1/chat/completions", chatBody())
        assert.deepStrictEqual(calls.at(-1)!.requirements, { capabilities: [], priority: "MEDIUM" })
      }))

    it.effect("OpenAI parameters modelgate does not model reach the gateway as they are; the modelgate object does not", () =>
      Effect.gen(function* () {
        const prediction = { type: "content", content: "hello" }
        yield* post("/v1/chat/completions", chatBody({ service_tier: "auto", prediction, modelgate: { priority: "LOW" } }))
        const sent = calls.at(-1)!.request as ChatRequest & Record<string, unknown>
        assert.strictEqual(sent["service_tier"], "auto")
        assert.deepStrictEqual(sent["prediction"], prediction)
        assert.notProperty(sent, "modelgate")
        assert.deepStrictEqual(extraParameters(sent), ["service_tier", "prediction"])
        // A request only of modelled fields carries none.
        yield* post("/v1/chat/completions", chatBody({ temperature: 0, modelgate: { priority: "LOW" } }))
        assert.deepStrictEqual(extraParameters(calls.at(-1)!.request), [])
        // `__proto__` is no parameter: it neither travels nor gives the request a prototype that passes unchecked fields.
        const reply = yield* request("/v1/chat/completions", { body: `{"model":"auto","messages":[{"role":"user","content":"hi"}],"store":true,"__proto__":{"n":-5}}` })
        assert.strictEqual(reply.status, 200)
        const polluted = calls.at(-1)!.request
        assert.isUndefined(polluted.n)
        assert.deepStrictEqual(extraParameters(polluted), ["store"])
      }))

    it.effect("GET /v1/models/{model} takes a raw or encoded provider/model; an unknown one is a 404 in the OpenAI shape", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* request("/v1/models/anthropic/claude-test")).json.id, "claude-test")
        assert.strictEqual((yield* request("/v1/models/anthropic%2Fclaude-test")).json.id, "claude-test")
        assert.strictEqual((yield* request("/v1/models/gpt-test?x=1")).json.id, "gpt-test")
        const missing = yield* request("/v1/models/nope")
        assert.strictEqual(missing.status, 404)
        assert.deepInclude(missing.json.error, { code: "model_not_found", param: "model" })
      }))

    it.effect("with model auto, the request's own needs become capabilities", () =>
      Effect.gen(function* () {
        const tools = [{ type: "function", function: { name: "f" } }]
        yield* post("/v1/chat/completions", chatBody({ tools, response_format: { type: "json_object" } }))
        assert.deepStrictEqual(calls.at(-1)!.requirements.capabilities, ["tools", "json_mode"])
        yield* post("/v1/chat/completions", chatBody({ model: "gpt-test", tools }))
        assert.deepStrictEqual(calls.at(-1)!.requirements.capabilities, [])
      }))

    it.effect("health, readiness and models need no key when none is set", () =>
      Effect.gen(function* () {
        const health = yield* request("/health")
        assert.strictEqual(health.status, 200)
        assert.strictEqual(health.json.status, "ok")
        const ready = yield* request("/ready")
        assert.strictEqual(ready.status, 200)
        assert.deepStrictEqual(ready.json.providers.map((p: { provider: string; ready: boolean }) => [p.provider, p.ready]), [
          ["anthropic", true],
          ["openai", true]
        ])
        const list = yield* request("/v1/models")
        assert.strictEqual(list.json.object, "list")
      }))

    it.effect("admin answers 403 when no master key is set", () =>
      Effect.gen(function* () {
        const reply = yield* request("/admin/models")
        assert.strictEqual(reply.status, 403)
        assert.include(reply.json.error.message, "MODELGATE_MASTER_KEY")
      }))

    it.effect("/v1/events delivers a published event as SSE", () =>
      Effect.gen(function* () {
        const events = yield* Events
        const reader = yield* Effect.fork(readSse("/v1/events", {}, (data) => data[0]))
        const event = new HealthChanged({ at: 1, model: "gpt-test", from: "available", to: "unavailable", reason: "3 probes failed" })
        // The subscription starts when the request arrives: publish until the reader has one.
        const publisher = yield* Effect.fork(Effect.repeat(events.publish(event), Schedule.spaced("20 millis")))
        const got = yield* Fiber.join(reader)
        yield* Fiber.interrupt(publisher)
        assert.strictEqual(got.contentType, "text/event-stream")
        assert.deepStrictEqual(got.value, { _tag: "HealthChanged", at: 1, model: "gpt-test", from: "available", to: "unavailable", reason: "3 probes failed" })
      }), { timeout: 10_000 })

    it.effect("/metrics is Prometheus text and /v1/metrics JSON with the query's filters", () =>
      Effect.gen(function* () {
        const text = yield* request("/metrics")
        assert.strictEqual(text.status, 200)
        assert.include(text.headers.get("content-type") ?? "", "text/plain")
        assert.include(text.text, "modelgate_requests_total{model=\"gpt-test\"} 2")
        const json = yield* request("/v1/metrics?from=1700000000000&to=2026-01-02T00:00:00Z&model=gpt-test&agentType=planner")
        assert.strictEqual(json.status, 200)
        assert.deepStrictEqual(seen.metrics, { from: 1_700_000_000_000, to: Date.parse("2026-01-02T00:00:00Z"), model: "gpt-test", agentType: "planner" })
        assert.strictEqual(json.json.totals.costPicoUsd, "1500000")
        assert.strictEqual(json.json.models[0].model, "gpt-test")
        const bad = yield* request("/v1/metrics?from=yesterday")
        assert.strictEqual(bad.status, 400)
        assert.strictEqual(bad.json.error.param, "from")
      }))
  })

  // The hot route is served before the router; with a query string it goes through the router: both answer alike.
  const dying = Gateway.of({ complete: () => Effect.die("bug"), stream: () => Effect.die("bug") })
  layer(serverLayer(echoGateway), { excludeTestServices: true })((it) => {
    it.effect("chat answers alike on the direct path and through the router", () =>
      Effect.gen(function* () {
        for (const path of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
          const reply = yield* post(path, chatBody(), { "x-request-id": "r-1" })
          assert.strictEqual(reply.status, 200, path)
          assert.strictEqual(reply.headers.get("content-type"), "application/json")
          assert.strictEqual(reply.headers.get("x-request-id"), "r-1")
          assert.strictEqual(reply.headers.get("x-modelgate-cost-usd"), "0.0000015")
          assert.strictEqual(reply.json.choices[0].message.content, "echo: hello")
          const streamed = yield* post(path, chatBody({ stream: true }))
          assert.strictEqual(streamed.headers.get("content-type"), "text/event-stream", path)
          assert.match(streamed.headers.get("x-request-id") ?? "", /^mg-/)
          assert.isTrue(streamed.text.endsWith("data: [DONE]\n\n"), path)
          const bad = yield* post(path, { model: "auto", messages: [] })
          assert.strictEqual(bad.status, 400, path)
          assert.strictEqual(bad.json.error.param, "messages")
          assert.match(bad.headers.get("x-request-id") ?? "", /^mg-/)
        }
      }))
  })

  layer(serverLayer(dying), { excludeTestServices: true })((it) => {
    it.effect("a defect is a 500 with the request id and no details, and the server keeps serving", () =>
      Effect.gen(function* () {
        for (const path of ["/v1/chat/completions", "/v1/chat/completions?via=router"]) {
          for (const stream of [false, true]) {
            const reply = yield* post(path, chatBody({ stream }), { "x-request-id": "d-1" })
            assert.strictEqual(reply.status, 500, path)
            assert.strictEqual(reply.json.error.code, "internal_error")
            assert.notInclude(reply.text, "bug")
            assert.strictEqual(reply.headers.get("x-request-id"), "d-1")
          }
        }
        assert.strictEqual((yield* request("/health")).status, 200)
      }))
  })

  const key = "mk-test-secret"
  const bearer = { authorization: `Bearer ${key}` }

  layer(serverLayer(echoGateway, { masterKey: key, withKeys: ["openai"], unavailable: ["gpt-test"] }), { excludeTestServices: true })((it) => {
    it.effect("with a master key, /v1/* requires it as a Bearer token", () =>
      Effect.gen(function* () {
        const none = yield* post("/v1/chat/completions", chatBody())
        assert.strictEqual(none.status, 401)
        assert.strictEqual(none.json.error.type, "authentication_error")
        const wrong = yield* post("/v1/chat/completions", chatBody(), { authorization: "Bearer nope" })
        assert.strictEqual(wrong.status, 401)
        assert.notInclude(wrong.text, key)
        assert.strictEqual((yield* request("/v1/models")).status, 401)
        const ok = yield* post("/v1/chat/completions", chatBody(), bearer)
        assert.strictEqual(ok.status, 200)
        assert.strictEqual((yield* request("/v1/models", { headers: bearer })).status, 200)
        assert.strictEqual((yield* request("/health")).status, 200)
      }))

    it.effect("readiness reports each provider's keys and unavailable models", () =>
      Effect.gen(function* () {
        const ready = yield* request("/ready")
        assert.strictEqual(ready.status, 503)
        const byProvider = Object.fromEntries(ready.json.providers.map((p: { provider: string }) => [p.provider, p]))
        assert.strictEqual(byProvider.openai.hasKey, true)
        assert.deepStrictEqual(byProvider.openai.unavailableModels, [{ model: "gpt-test", reason: "3 probes failed" }])
        assert.strictEqual(byProvider.anthropic.hasKey, false)
        assert.strictEqual(byProvider.anthropic.ready, false)
      }))

    it.effect("admin lists, adds and updates models; typed errors are 400 / 404", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* request("/admin/models")).status, 401)
        const list = yield* request("/admin/models", { headers: bearer })
        assert.deepStrictEqual(list.json.data.map((m: { id: string }) => m.id), models.map((m) => m.id))
        const added = yield* post("/admin/models", { ...list.json.data[0], id: "gpt-new" }, bearer)
        assert.strictEqual(added.status, 201, added.text)
        assert.strictEqual(added.json.id, "gpt-new")
        const invalid = yield* post("/admin/models", { id: "broken" }, bearer)
        assert.strictEqual(invalid.status, 400)
        assert.include(invalid.json.error.message, "broken")
        const patched = yield* request("/admin/models/gpt-new", { method: "PATCH", body: JSON.stringify({ enabled: false }), headers: bearer })
        assert.strictEqual(patched.status, 200, patched.text)
        assert.strictEqual(patched.json.enabled, false)
        const missing = yield* request("/admin/models/nope", { method: "PATCH", body: JSON.stringify({ enabled: false }), headers: bearer })
        assert.strictEqual(missing.status, 404)
        assert.include(missing.json.error.message, "nope")
        // A body that is no object (`[]` would apply an empty change) is a 400, the model unchanged.
        const array = yield* request("/admin/models/gpt-new", { method: "PATCH", body: "[]", headers: bearer })
        assert.strictEqual(array.status, 400, array.text)
        assert.strictEqual(array.json.error.code, "invalid_model")
        assert.include(array.json.error.message, "an array")
      }))

    it.effect("admin health, reload, costs, budgets and the selection dry-run", () =>
      Effect.gen(function* () {
        const health = yield* request("/admin/health", { headers: bearer })
        assert.strictEqual(health.json.data.find((h: { model: string }) => h.model === "gpt-test").status, "unavailable")
        const reload = yield* post("/admin/reload", {}, bearer)
        assert.strictEqual(reload.status, 200, reload.text)
        const costs = yield* request("/admin/costs?from=7d&by=model", { headers: bearer })
        assert.strictEqual(costs.status, 200, costs.text)
        assert.strictEqual(seen.costs?.groupBy, "model")
        assert.isNumber(seen.costs?.from)
        assert.deepStrictEqual(
          costs.json.groups.map((g: { key: string; costUsd: number; cachedTokens: number; cacheWriteTokens: number; reasoningTokens: number }) => [
            g.key,
            g.costUsd,
            g.cachedTokens,
            g.cacheWriteTokens,
            g.reasoningTokens
          ]),
          [
            ["gpt-test", 0.0000015, 0, 0, 3],
            ["claude-test", 0.003, 20, 40, 0]
          ]
        )
        assert.strictEqual((yield* request("/admin/costs?by=color", { headers: bearer })).status, 400)
        yield* request("/admin/costs?by=agent", { headers: bearer })
        assert.strictEqual(seen.costs?.groupBy, "agentType")
        const budgets = yield* request("/admin/budgets", { headers: bearer })
        assert.deepStrictEqual(budgets.json.data[0], {
          budget: "global",
          period: "daily",
          periodStart: 0,
          periodEnd: 86_400_000,
          limitUsd: 2,
          spentUsd: 1,
          reservedUsd: 0,
          used: 0.5
        })
        const select = yield* post("/admin/select", chatBody({ model: "gpt-test" }), bearer)
        assert.strictEqual(select.status, 200, select.text)
        assert.deepStrictEqual(select.json.ranked.map((r: { model: string }) => r.model), ["gpt-test"])
        assert.deepStrictEqual(Object.keys(select.json.ranked[0].parts), ["capability", "cost", "performance", "availability"])
        assert.deepStrictEqual(select.json.excluded, [{ model: "claude-test", reason: "not requested" }])
        const auto = yield* post("/admin/select", chatBody({ modelgate: { priority: "LOW" } }), bearer)
        assert.strictEqual(auto.json.requirements.priority, "LOW")
        assert.strictEqual(auto.json.ranked.length, 2)
      }))
  })

  // Anthropic here stands for a provider that needs no key (as Ollama): it has none and is ready.
  layer(serverLayer(echoGateway, { withKeys: ["openai"], unavailable: ["gpt-test"], keyless: ["anthropic"] }), { excludeTestServices: true })((it) => {
    it.effect("readiness does not ask a key of a provider that needs none", () =>
      Effect.gen(function* () {
        const ready = yield* request("/ready")
        assert.strictEqual(ready.status, 200)
        const byProvider = Object.fromEntries(ready.json.providers.map((p: { provider: string }) => [p.provider, p]))
        assert.deepInclude(byProvider.anthropic, { ready: true, requiresKey: false, hasKey: false })
        assert.deepInclude(byProvider.openai, { ready: false, requiresKey: true, hasKey: true })
      }))
  })
})
