/**
 * End to end over real sockets: the HTTP app on GatewayLive over the testkit
 * fakes, with a team's virtual key and a budget for its agent type. The team
 * cannot spend past its budget by claiming another agent type: its requests
 * are accounted to its own, and once that budget is spent they get a 429
 * `budget_exceeded` naming it.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import * as HttpApp from "../src/HttpApp.js"
import { twoModels } from "./support/Registry.js"

const teamKey = "mg-search-team-e2e-secret"

const serveOverFakes = Effect.gen(function* () {
  const { configProvider, dir } = yield* FakeStackConfig.make({
    prefix: "modelgate-vk-",
    gateway: {
      cache: { enabled: false },
      failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 },
      auth: { virtualKeys: [{ name: "search-team", sha256: createHash("sha256").update(teamKey).digest("hex"), agentType: "search" }] },
      // Half a hundredth of a cent a day: a few requests of at most 20 output tokens spend it.
      budgets: { perAgentType: { search: { daily: 0.00005 } } }
    },
    models: twoModels("virtual key budget test", { openai: { rpm: 500, tpm: 2_000_000 }, anthropic: { rpm: 50, tpm: 50000 } })
  })
  const live = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(Layer.provide(Layer.setConfigProvider(configProvider)))
  const context = yield* Layer.build(HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(live)))
  const address = Context.get(context, HttpServer.HttpServer).address
  return `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
})

const ask = (url: string, headers: Record<string, string>) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }], max_tokens: 20, modelgate: { agentType: "free-lunch" } })
    })
    return { status: response.status, json: await response.json() as { error?: { code: string; message: string } } }
  })

describe("a team's virtual key, end to end", () => {
  it.scopedLive("its spending counts against its own agent type's budget, whatever agent type its requests claim", () =>
    Effect.gen(function* () {
      const url = yield* serveOverFakes
      const team = { authorization: `Bearer ${teamKey}`, "x-modelgate-agent-type": "free-lunch" }
      assert.strictEqual((yield* ask(url, {})).status, 401)
      const statuses: Array<number> = []
      let refusal: { code: string; message: string } | undefined
      for (let i = 0; i < 30 && refusal === undefined; i++) {
        const reply = yield* ask(url, team)
        statuses.push(reply.status)
        if (reply.status !== 200) refusal = reply.json.error
      }
      assert.isAbove(statuses.filter((s) => s === 200).length, 0, "the team is served until its budget is spent")
      assert.strictEqual(statuses.at(-1), 429, `statuses: ${statuses.join(", ")}`)
      assert.strictEqual(refusal?.code, "budget_exceeded")
      assert.include(refusal?.message, "search")
    }))
})
