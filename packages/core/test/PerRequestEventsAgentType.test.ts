/**
 * The per-request events (`ModelSelected`, `Failover`, `LowQualityResponse`)
 * carry the agent type of their request, so that `/v1/events` can show a
 * team its own requests' events and no other team's: on complete and
 * streamed requests, and on the selector's own `select`.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import type { GatewayEvent } from "@modelgate/domain/Events"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect, Layer, Stream } from "effect"
import { Events } from "../src/Events.js"
import * as Gw from "../src/Gateway.js"
import { EvaluatorConfig } from "../src/GatewayConfigSchema.js"
import { ModelSelector } from "../src/ModelSelector.js"
import { costStackOn } from "./CostStack.js"
import { failingModelDouble } from "./FailingModelDouble.js"
import { makeEvents, model } from "./RoutingFixtures.js"

/** Model "bad" always fails with a 500; "good" answers with nothing (a low-quality answer). */
const double = failingModelDouble("")

const models = [model("bad", { fallbacks: ["good"] }), model("good")]

/** A request naming "bad": it fails over to "good". */
const ask = (content: string): ChatRequest => ({ model: "bad", messages: [{ role: "user", content }] }) as ChatRequest
const of = (agentType: string | undefined) =>
  ({ capabilities: [], priority: "MEDIUM", ...(agentType === undefined ? {} : { agentType }) }) as unknown as TaskRequirements

const perRequest = new Set(["ModelSelected", "Failover", "LowQualityResponse"])

/** The per-request events of `requestId`, as tag and agent type. */
const ofRequest = (events: ReadonlyArray<GatewayEvent>, requestId: string) =>
  events.flatMap((e) => {
    const about = e as { readonly requestId?: string; readonly agentType?: string }
    return perRequest.has(e._tag) && about.requestId === requestId ? [[e._tag, about.agentType]] : []
  })

describe("per-request events", () => {
  it.scoped("carry the request's agent type (complete, streamed, failed over, low quality), none when it has none", () =>
    Effect.gen(function* () {
      const bus = yield* makeEvents
      const stack = costStackOn(Layer.succeed(Events, bus.service))(models, double, {
        evaluator: EvaluatorConfig.make({ enabled: true, lowQualityThreshold: 0.5 })
      })
      yield* Effect.gen(function* () {
        const gw = yield* Gw.Gateway
        const completed = yield* gw.complete(ask("what is the capital of France?"), of("team-a"))
        const streamed = yield* gw.stream(ask("what is the capital of Spain?"), of("team-b"))
        yield* Stream.runDrain(streamed.chunks)
        const anonymous = yield* gw.complete(ask("what is the capital of Italy?"), of(undefined))
        const events = yield* bus.all
        const expected = (agentType: string | undefined) =>
          [["Failover", agentType], ["ModelSelected", agentType], ["LowQualityResponse", agentType]]
        assert.deepStrictEqual(ofRequest(events, completed.meta.requestId), expected("team-a"))
        assert.deepStrictEqual(ofRequest(events, streamed.meta.requestId), expected("team-b"))
        assert.deepStrictEqual(ofRequest(events, anonymous.meta.requestId), expected(undefined))
      }).pipe(Effect.provide(stack))
    }))

  it.scoped("ModelSelector.select names the agent type of its input", () =>
    Effect.gen(function* () {
      const bus = yield* makeEvents
      const stack = costStackOn(Layer.succeed(Events, bus.service))(models, double)
      yield* Effect.gen(function* () {
        const selector = yield* ModelSelector
        yield* selector.select({ requirements: of("team-a"), estimatedPromptTokens: 10, maxOutputTokens: 100, requestId: "sel-1" })
        assert.deepStrictEqual(ofRequest(yield* bus.all, "sel-1"), [["ModelSelected", "team-a"]])
      }).pipe(Effect.provide(stack))
    }))
})
