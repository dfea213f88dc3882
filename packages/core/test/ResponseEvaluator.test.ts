import { assert, describe, it } from "@effect/vitest"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as RecordSink from "@modelgate/core/RecordSink"
import * as ResponseEvaluator from "@modelgate/core/ResponseEvaluator"
import type { ChatRequest } from "@modelgate/domain/Chat"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { Context, Effect, Layer, Option, Ref, Schema, Stream, TestClock } from "effect"
import { reply, request } from "./ResponseEvaluatorFixtures.js"

const setup = (evaluator: Record<string, unknown>) =>
  Effect.gen(function* () {
    const published = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
    const events = Layer.succeed(
      Events,
      Events.of({ publish: (e) => Ref.update(published, (all) => [...all, e]), subscribe: Stream.empty })
    )
    const config = Schema.decodeUnknownSync(GatewayConfigData)({ evaluator })
    const context = yield* Layer.build(
      ResponseEvaluator.layer.pipe(
        Layer.provideMerge(RecordSink.layerMemory),
        Layer.provide(events),
        Layer.provide(GatewayConfig.layerStatic(config))
      )
    )
    const evaluator_ = Context.get(context, ResponseEvaluator.ResponseEvaluator)
    const answer = (
      content: string,
      on: { readonly model: string; readonly taskType: string | undefined; readonly agentType?: string } = { model: "gpt-4o-mini", taskType: "qa" }
    ) => evaluator_.evaluate({ requestId: "r", model: on.model, taskType: on.taskType, agentType: on.agentType, request, response: reply(content) })
    return {
      evaluator: evaluator_,
      answer,
      records: Context.get(context, RecordSink.MemoryRecords).all,
      published: Ref.get(published)
    }
  })

const good = "Paris is the capital of France."
const bad = ""

const untyped = { model: "m", taskType: undefined }
const tags = (events: ReadonlyArray<GatewayEvent>) => events.map((e) => e._tag)

describe("ResponseEvaluator", () => {
  it.scoped("computes, stores and publishes nothing when disabled", () =>
    Effect.gen(function* () {
      const { answer, evaluator, published, records } = yield* setup({ enabled: false, switchAfterLowScores: 1 })
      assert.isTrue(Option.isNone(yield* answer(good)))
      assert.isTrue(Option.isNone(yield* answer(bad)))
      assert.deepStrictEqual(yield* records, [])
      assert.deepStrictEqual(yield* published, [])
      assert.strictEqual(yield* evaluator.penalty("gpt-4o-mini", "qa"), 0)
      // Under a disabled config, `evaluateAt` answers `notEvaluated` itself (the gateway then skips its step).
      const disabled = Schema.decodeUnknownSync(GatewayConfigData)({ evaluator: { enabled: false } })
      const input = { requestId: "r", ...untyped, request, response: reply(good) }
      assert.strictEqual(evaluator.evaluateAt?.(disabled, input), ResponseEvaluator.notEvaluated)
    }))

  it.scoped("evaluateAt scores under the config it is given (the request's), not the service's", () =>
    Effect.gen(function* () {
      const { evaluator, records } = yield* setup({ enabled: false })
      const enabled = Schema.decodeUnknownSync(GatewayConfigData)({ evaluator: { enabled: true } })
      const record = Option.getOrThrow(yield* evaluator.evaluateAt!(enabled, { requestId: "r", ...untyped, request, response: reply(good) }))
      assert.strictEqual(record.score, 1)
      assert.deepStrictEqual(yield* records, [record])
    }))

  it.scoped("scores an answer and offers the QualityScoreRecord to the RecordSink", () =>
    Effect.gen(function* () {
      const { answer, published, records } = yield* setup({ enabled: true })
      yield* TestClock.adjust(1_234)
      const record = Option.getOrThrow(yield* answer(good))
      assert.deepInclude(record, { at: 1_234, model: "gpt-4o-mini", taskType: "qa", completeness: 1, relevance: 1, coherence: 1, score: 1, lowQuality: false })
      assert.deepStrictEqual(yield* records, [record])
      assert.deepStrictEqual(yield* published, [])
    }))

  it.scoped("publishes LowQualityResponse below the threshold", () =>
    Effect.gen(function* () {
      const { answer, published } = yield* setup({ enabled: true, lowQualityThreshold: 0.5 })
      const record = Option.getOrThrow(yield* answer(bad))
      assert.isTrue(record.lowQuality)
      const events = yield* published
      assert.deepStrictEqual(tags(events), ["LowQualityResponse"])
      assert.deepInclude(events[0], { model: "gpt-4o-mini", taskType: "qa", score: record.score })
    }))

  it.scoped("recommends a switch after N low scores in the window, once, and penalises only that model and task type", () =>
    Effect.gen(function* () {
      const { answer, evaluator, published } = yield* setup({ enabled: true, switchAfterLowScores: 3, switchWindowMs: 60_000 })
      yield* answer(bad)
      yield* answer(good)
      yield* answer(bad)
      assert.strictEqual(yield* evaluator.penalty("gpt-4o-mini", "qa"), 0)
      yield* answer(bad)
      assert.strictEqual(tags(yield* published).filter((t) => t === "ModelSwitchRecommended").length, 1)
      const recommended = (yield* published).find((e) => e._tag === "ModelSwitchRecommended")
      assert.deepInclude(recommended, { model: "gpt-4o-mini", taskType: "qa", lowScores: 3, windowMs: 60_000 })
      assert.strictEqual(yield* evaluator.penalty("gpt-4o-mini", "qa"), 1)
      assert.strictEqual(yield* evaluator.penalty("gpt-4o-mini", "code"), 0)
      assert.strictEqual(yield* evaluator.penalty("claude-haiku", "qa"), 0)
      yield* answer(bad)
      assert.strictEqual(tags(yield* published).filter((t) => t === "ModelSwitchRecommended").length, 1, "once per episode")

      yield* answer(good)
      assert.strictEqual(yield* evaluator.penalty("gpt-4o-mini", "qa"), 0, "a good score ends it")
    }))

  it.scoped("a recommendation names the agent types whose low scores within the window made it (for /v1/events to show each team its own)", () =>
    Effect.gen(function* () {
      const { answer, published } = yield* setup({ enabled: true, switchAfterLowScores: 3, switchWindowMs: 60_000 })
      const qa = (agentType?: string) => ({ model: "gpt-4o-mini", taskType: "qa", ...(agentType === undefined ? {} : { agentType }) })
      yield* answer(bad, qa("old-team"))
      yield* TestClock.adjust(60_000)
      yield* answer(bad, qa("team-a"))
      yield* answer(bad, qa())
      yield* answer(bad, qa("team-b"))
      const recommended = (yield* published).find((e) => e._tag === "ModelSwitchRecommended")
      assert.deepInclude(recommended, { taskType: "qa", lowScores: 3 })
      assert.sameMembers(recommended?._tag === "ModelSwitchRecommended" ? [...(recommended.agentTypes ?? [])] : [], ["team-a", "team-b"])
    }))

  it.scoped("the penalty fades over the window and low scores outside it do not count", () =>
    Effect.gen(function* () {
      const { answer, evaluator, published } = yield* setup({ enabled: true, switchAfterLowScores: 2, switchWindowMs: 60_000 })
      yield* answer(bad, untyped)
      yield* TestClock.adjust(60_000)
      yield* answer(bad, untyped)
      assert.isFalse(tags(yield* published).includes("ModelSwitchRecommended"), "the first low score left the window")
      yield* TestClock.adjust(1_000)
      yield* answer(bad, untyped)
      assert.isTrue(tags(yield* published).includes("ModelSwitchRecommended"))
      assert.strictEqual(yield* evaluator.penalty("m", undefined), 1)
      yield* TestClock.adjust(30_000)
      assert.closeTo(yield* evaluator.penalty("m", undefined), 0.5, 1e-9)
      yield* TestClock.adjust(30_000)
      assert.strictEqual(yield* evaluator.penalty("m", undefined), 0)
    }))

  it.scoped("bad answers while a switch is recommended keep it at full penalty; once it has faded, a new one takes as many fresh low scores", () =>
    Effect.gen(function* () {
      const { answer, evaluator, published } = yield* setup({ enabled: true, switchAfterLowScores: 3, switchWindowMs: 60_000 })
      const qa = (agentType: string) => ({ model: "m", taskType: "qa", agentType })
      for (let i = 0; i < 3; i++) yield* answer(bad, qa("first"))
      for (let i = 0; i < 100; i++) {
        yield* TestClock.adjust(1_000)
        yield* answer(bad, qa(`during-${i}`))
        assert.strictEqual(yield* evaluator.penalty("m", "qa"), 1)
      }
      yield* TestClock.adjust(60_000)
      assert.strictEqual(yield* evaluator.penalty("m", "qa"), 0)
      yield* answer(bad, qa("second"))
      yield* answer(bad, qa("second"))
      assert.strictEqual(yield* evaluator.penalty("m", "qa"), 0, "two fresh low scores are not three")
      yield* answer(bad, qa("second"))
      const recommended = (yield* published).filter((e) => e._tag === "ModelSwitchRecommended")
      assert.deepStrictEqual(recommended.map((e) => e._tag === "ModelSwitchRecommended" ? [e.lowScores, e.agentTypes] : []), [[3, ["first"]], [3, ["second"]]])
    }))

  it.effect("layerDisabled never scores", () =>
    Effect.gen(function* () {
      const evaluator = yield* ResponseEvaluator.ResponseEvaluator
      assert.isTrue(Option.isNone(yield* evaluator.evaluate({ requestId: "r", model: "m", taskType: undefined, request, response: reply(bad) })))
    }).pipe(Effect.provide(ResponseEvaluator.layerDisabled)))
})

// Answers a client cannot use are flagged low quality under the default weights and threshold
// (0.4/0.3/0.3, 0.5): a bare refusal (the heuristics' "bare refusal 0" completeness), and prose where JSON was asked for.
const defaultWeights = { completeness: 0.4, relevance: 0.3, coherence: 0.3 }
const threshold = 0.5

const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "auto",
  messages: [{ role: "user", content: text }],
  ...extra
})

describe("low-quality answers are flagged", () => {
  it("a bare refusal has completeness 0 and is low quality", () => {
    for (const refusal of ["I'm sorry, but I can't help with that.", "I cannot assist with that request.", "Sorry, I am unable to comply."]) {
      const request = ask("What is the capital of France?")
      assert.strictEqual(ResponseEvaluator.Heuristics.completeness(request, reply(refusal)), 0, refusal)
      assert.isBelow(ResponseEvaluator.Heuristics.evaluate(request, reply(refusal), defaultWeights).score, threshold, refusal)
    }
    // an answer that starts apologetically but answers is not a refusal
    const fine = "Sorry for the delay: the capital of France is Paris."
    assert.strictEqual(ResponseEvaluator.Heuristics.completeness(ask("What is the capital of France?"), reply(fine)), 1)
  })

  it("prose where JSON was asked for is low quality", () => {
    const request = ask("Give the capital of France as JSON with a key capital", { response_format: { type: "json_object" } })
    const scores = ResponseEvaluator.Heuristics.evaluate(request, reply("The capital of France is Paris."), defaultWeights)
    assert.isBelow(scores.score, threshold, JSON.stringify(scores))
    // valid JSON is fine
    assert.isAtLeast(ResponseEvaluator.Heuristics.evaluate(request, reply('{"capital": "Paris", "country": "France"}'), defaultWeights).score, threshold)
  })
})
