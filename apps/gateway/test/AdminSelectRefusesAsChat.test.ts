/**
 * `POST /admin/select` answers "which model would this request get": when the
 * chat route would refuse the request before calling any provider, the dry
 * run answers the same refusal (status, code, message), not a 200 with an
 * empty ranking that reads as "some model would serve it".
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bearer, call, chat, master, serveOverFakes } from "./support/VkStack.js"

const both = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  Effect.all({
    dry: call(url, "/admin/select", { body, headers: { ...bearer(master), ...headers } }),
    served: call(url, "/v1/chat/completions", { body, headers: { ...bearer(master), ...headers } })
  })

const sameRefusal = (label: string, r: Effect.Effect.Success<ReturnType<typeof both>>, status: number, code: string) => {
  assert.strictEqual(r.served.status, status, `${label} chat: ${r.served.text}`)
  assert.strictEqual(r.served.json.error.code, code, label)
  assert.strictEqual(r.dry.status, r.served.status, `${label} dry run: ${r.dry.text}`)
  assert.deepStrictEqual(r.dry.json.error, r.served.json.error, label)
}

describe("POST /admin/select when the gateway would refuse", () => {
  it.scopedLive("a named model its provider cannot serve: the chat route's 400 unsupported_parameter", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ cache: { enabled: false } })
      // Anthropic answers one choice per request.
      sameRefusal("n: 2 on claude-haiku", yield* both(url, chat("claude-haiku", "hello there", { n: 2 })), 400, "unsupported_parameter")
    }))

  it.scopedLive("a body that is not an object, or a bad x-modelgate-cache-ttl header: the chat route's 400", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ cache: { enabled: false } })
      sameRefusal("array body", yield* both(url, [chat("auto")]), 400, "invalid_request")
      sameRefusal("cache ttl", yield* both(url, chat("auto"), { "x-modelgate-cache-ttl": "soon" }), 400, "invalid_header")
    }))

  it.scopedLive("a model the registry does not have: the chat route's 404 model_not_found", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ cache: { enabled: false } })
      sameRefusal("unknown", yield* both(url, chat("gpt-9-nonexistent")), 404, "model_not_found")
    }))

  it.scopedLive("no model has what the request asks: the chat route's no_eligible_model", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ cache: { enabled: false } })
      sameRefusal("vision", yield* both(url, chat("auto", "hello there", { modelgate: { capabilities: ["vision"] } })), 400, "no_eligible_model")
    }))

  it.scopedLive("every candidate over its budget (the worst-case hold): the chat route's 429 budget_exceeded", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ cache: { enabled: false }, budgets: { perAgentType: { search: { daily: 0.000000001 } } } })
      const body = chat("auto", "hello there", { modelgate: { agentType: "search" } })
      sameRefusal("budget", yield* both(url, body), 429, "budget_exceeded")
      // Nothing was spent or held by either: a request of another agent type is served.
      const other = yield* call(url, "/v1/chat/completions", { body: chat("auto"), headers: bearer(master) })
      assert.strictEqual(other.status, 200, other.text)
    }))
})
