/**
 * Agent and task types are labels a client names (`modelgate.agentType` /
 * `taskType`, `x-modelgate-agent-type` / `-task-type`): at most
 * 256 characters. Every request's name is kept after it ends,
 * in bounded counts (its `ModelSelected` in each slow `/v1/events`
 * subscriber's buffer of 4,096 events, its records in the writer's queue,
 * the evaluator's tracks): a megabyte name would make each of those a
 * megabyte. A longer one is a 400 naming the field and the limit (not
 * echoing the value), before the gateway sees the request.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect } from "effect"
import { chatBody, post, type Reply } from "./support/Client.js"
import { echoGateway, serverLayer } from "./support/Doubles.js"

/** The documented limit (README: requirements). */
const maxLabelLength = 256

const seen: Array<TaskRequirements> = []
const recording = Gateway.of({
  ...echoGateway,
  complete: (request, requirements, options) => {
    seen.push(requirements)
    return echoGateway.complete(request, requirements, options)
  }
})

const refused = (reply: Reply, param: string) => {
  assert.strictEqual(reply.status, 400, reply.text)
  assert.strictEqual(reply.json.error.param, param)
  assert.include(reply.json.error.message, `at most ${maxLabelLength} characters`)
  assert.isBelow(reply.text.length, 1_000, "the value is not echoed")
}

describe("agent and task type length", () => {
  it.layer(serverLayer(recording))((it) => {
    it.effect("a name up to the limit is taken as it is", () =>
      Effect.gen(function* () {
        const name = "a".repeat(maxLabelLength)
        const reply = yield* post("/v1/chat/completions", chatBody({ modelgate: { agentType: name } }), { "x-modelgate-task-type": name })
        assert.strictEqual(reply.status, 200, reply.text)
        assert.strictEqual(seen.at(-1)?.agentType, name)
        assert.strictEqual(seen.at(-1)?.taskType, name)
      }))

    it.effect("a longer one in the body or a header is a 400 naming the field, and the gateway never sees it", () =>
      Effect.gen(function* () {
        const before = seen.length
        const long = "x".repeat(100_000)
        refused(yield* post("/v1/chat/completions", chatBody({ modelgate: { agentType: long } })), "modelgate.agentType")
        refused(yield* post("/v1/chat/completions", chatBody({ modelgate: { taskType: long } })), "modelgate.taskType")
        const header = "y".repeat(maxLabelLength + 1)
        refused(yield* post("/v1/chat/completions", chatBody(), { "x-modelgate-agent-type": header }), "x-modelgate-agent-type")
        refused(yield* post("/v1/chat/completions", chatBody(), { "x-modelgate-task-type": header }), "x-modelgate-task-type")
        assert.strictEqual(seen.length, before)
      }))
  })
})
