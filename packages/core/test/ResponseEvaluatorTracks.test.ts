/**
 * The evaluator's low-score tracks stay bounded when every request names a
 * new task type: tracks whose window has passed are dropped, tracks within
 * it are kept, and switch recommendations work as before.
 */
import { assert, describe, it } from "@effect/vitest"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as RecordSink from "@modelgate/core/RecordSink"
import * as ResponseEvaluator from "@modelgate/core/ResponseEvaluator"
import { noteLow, type Track, trackKey, Tracks, windowed } from "@modelgate/core/ResponseEvaluator/Tracks"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { Context, Effect, Layer, Ref, Schema, Stream, TestClock } from "effect"
import { reply, request } from "./ResponseEvaluatorFixtures.js"

describe("ResponseEvaluator tracks", () => {
  it("one low score for each of 10,000 task types keeps about the tracks of one window, and every one within it", () => {
    const tracks = new Tracks(100)
    const windowMs = 1_000
    for (let i = 0; i < 10_000; i++) {
      const now = i * 10 // 100 task types per window
      tracks.set(trackKey("m", `task-${i}`), { lows: [now], recommendedAt: undefined }, now, windowMs)
    }
    assert.isAtMost(tracks.size, 301)
    for (let i = 9_901; i < 10_000; i++) assert.isDefined(tracks.get(trackKey("m", `task-${i}`)), `task-${i}`)
  })

  it("a recommendation within its window is kept though its low scores have left it", () => {
    const tracks = new Tracks(1)
    tracks.set(trackKey("m", "qa"), { lows: [0], recommendedAt: 500 }, 500, 1_000)
    tracks.set(trackKey("m", "other"), { lows: [1_200], recommendedAt: undefined }, 1_200, 1_000)
    tracks.set(trackKey("m", "third"), { lows: [1_300], recommendedAt: undefined }, 1_300, 1_000)
    assert.strictEqual(tracks.get(trackKey("m", "qa"))?.recommendedAt, 500)
  })

  it("a model that keeps answering badly while a switch is recommended keeps a track of constant size (each request's work stays small)", () => {
    const windowMs = 600_000
    const track: Track = { lows: [], recommendedAt: undefined }
    const starts: Array<number> = []
    // 100 low answers a second for the whole window, each from another agent type (any client may name one).
    for (let now = 0; now < windowMs; now += 10) {
      windowed(track, now, windowMs)
      if (noteLow(track, now, `agent-${now}`, 5)) starts.push(now)
    }
    assert.deepStrictEqual(starts, [40], "one recommendation, at the fifth low score")
    assert.strictEqual(track.recommendedAt, windowMs - 10, "renewed by every low score")
    assert.isAtMost(track.lows.length, 5)
    assert.isAtMost(track.agentTypes?.size ?? 0, 5)
  })

  it.scoped("after 2,000 task types scored low once, a switch is still recommended for the one that keeps scoring low", () =>
    Effect.gen(function* () {
      const published = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
      const events = Layer.succeed(Events, Events.of({ publish: (e) => Ref.update(published, (all) => [...all, e]), subscribe: Stream.empty }))
      const config = Schema.decodeUnknownSync(GatewayConfigData)({ evaluator: { enabled: true, switchAfterLowScores: 2, switchWindowMs: 60_000 } })
      const context = yield* Layer.build(
        ResponseEvaluator.layer.pipe(Layer.provide(RecordSink.layerMemory), Layer.provide(events), Layer.provide(GatewayConfig.layerStatic(config)))
      )
      const evaluator = Context.get(context, ResponseEvaluator.ResponseEvaluator)
      const bad = (taskType: string) => evaluator.evaluate({ requestId: "r", model: "m", taskType, request, response: empty })
      for (let i = 0; i < 2_000; i++) {
        yield* bad(`task-${i}`)
        if (i % 100 === 99) yield* TestClock.adjust(10_000)
      }
      yield* bad("qa")
      yield* TestClock.adjust(1_000)
      yield* bad("qa")
      const recommended = (yield* Ref.get(published)).filter((e) => e._tag === "ModelSwitchRecommended")
      assert.deepStrictEqual(recommended.map((e) => (e._tag === "ModelSwitchRecommended" ? e.taskType : "")), ["qa"])
      assert.isAbove(yield* evaluator.penalty("m", "qa"), 0.9)
      assert.strictEqual(yield* evaluator.penalty("m", "task-1999"), 0)
    }))
})

const empty = reply("")
