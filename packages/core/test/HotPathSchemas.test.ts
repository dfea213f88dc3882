/**
 * The request path builds its records, events and errors with Schema
 * validation off (`new X(props, true)`: they are made from typed data of our
 * own). This checks that what it builds really satisfies the Schemas, the
 * refinements included (non-negative integers, literals): complete and
 * streamed requests, a failover after a provider failure, a cache hit, rate
 * limit signals and refusals, on the core services with memory stores.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { GatewayEvent } from "@modelgate/domain/Events"
import { GatewayRecord } from "@modelgate/domain/Records"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Context, Effect, Either, Layer, Ref, Schema, Stream } from "effect"
import { Events } from "../src/Events.js"
import * as Gw from "../src/Gateway.js"
import * as RecordSink from "../src/RecordSink.js"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import { costStackOn } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"
import { failingModelDouble } from "./FailingModelDouble.js"

class SeenEvents extends Context.Tag("test/HotPathSchemas/SeenEvents")<SeenEvents, Effect.Effect<ReadonlyArray<unknown>>>() {}

/** A bus that keeps every published event. */
const recordingEvents: Layer.Layer<Events | SeenEvents> = Layer.effectContext(
  Effect.map(Ref.make<ReadonlyArray<unknown>>([]), (ref) =>
    Context.make(Events, { publish: (e) => Ref.update(ref, (all) => [...all, e]), subscribe: Stream.never }).pipe(
      Context.add(SeenEvents, Ref.get(ref))
    ))
)


/** Model "bad" always fails with a 500; every other model answers. */
const double = failingModelDouble("Hello there, friend.", ["Hel", "lo."])

const models = [
  model("bad", { qualityScore: 0.99, pricing: { inputPerMillion: 0.1, outputPerMillion: 0.1 } }),
  model("good", { qualityScore: 0.7 }),
  // rpm 3: its fourth request in a window is refused, after a warning at 90% of the window.
  model("tight", { rateLimits: { rpm: 3, tpm: 1_000_000 }, qualityScore: 0.1 })
]

// No backoff sleeps and no queue wait: nothing here waits on the (test) clock.
const stack = costStackOn(recordingEvents)(models, double, { cache: defaultConfig.cache })

// temperature 0: cacheable.
const ask = (content: string, modelId = "auto"): ChatRequest =>
  ({ model: modelId, temperature: 0, messages: [{ role: "user", content }] }) as ChatRequest
// An agent type: carried into the per-request events (ModelSelected, Failover).
const requirements: TaskRequirements = { capabilities: [], priority: "MEDIUM", agentType: "hot-path" } as unknown as TaskRequirements

/** Every value fails the test unless the Schema accepts it as it is (validateSync re-checks each refinement). */
const assertValid = <A, I>(schema: Schema.Schema<A, I>, values: ReadonlyArray<unknown>, what: string) => {
  for (const v of values) {
    assert.isTrue(Schema.is(schema)(v), `${what} rejected: ${JSON.stringify(v)}`)
    Schema.validateSync(schema)(v)
  }
}

describe("values built on the request path without validation", () => {
  it.scoped("satisfy their Schemas: records, events and errors of complete, streamed, failed-over, cached and refused requests", () =>
    Effect.gen(function* () {
      const gw = yield* Gw.Gateway
      // Failover from "bad" (ranked first) to "good"; then a cache hit of the same request.
      yield* gw.complete(ask("hello"), requirements)
      yield* gw.complete(ask("hello"), requirements)
      // Streamed, drained.
      const answer = yield* gw.stream(ask("stream please"), requirements)
      yield* Stream.runDrain(answer.chunks)
      // A model with a tight limit: warning, then refusals.
      const errors: Array<unknown> = []
      for (let i = 0; i < 5; i++) {
        const r = yield* Effect.either(gw.complete(ask(`tight ${i}`, "tight"), requirements))
        if (Either.isLeft(r)) errors.push(r.left)
      }
      const records = yield* Effect.flatMap(RecordSink.MemoryRecords, (m) => m.all)
      const events = yield* yield* SeenEvents
      const tags = new Set(records.map((r) => r._tag))
      for (const t of ["CostRecord", "PerformanceRecord", "HealthCheckRecord", "FailoverRecord", "RateLimitEventRecord"]) {
        assert.isTrue(tags.has(t as never), `no ${t} among ${[...tags].join(", ")}`)
      }
      assert.isTrue(records.some((r) => r._tag === "PerformanceRecord" && !r.success), "a failed performance record")
      assert.isTrue(records.some((r) => r._tag === "CostRecord" && r.cacheHit), "a cache-hit cost record")
      assert.isTrue(records.some((r) => r._tag === "PerformanceRecord" && r.streamed), "a streamed performance record")
      assertValid(GatewayRecord, records, "record")
      const eventTags = new Set(events.map((e) => (e as { _tag: string })._tag))
      for (const t of ["ModelSelected", "RateLimitWarning"]) assert.isTrue(eventTags.has(t), `no ${t} among ${[...eventTags].join(", ")}`)
      assertValid(GatewayEvent, events, "event")
      assert.isAbove(errors.length, 0, "the tight model refused a request")
      for (const e of errors) {
        const schema = (e as { constructor: unknown }).constructor as Schema.Schema<unknown>
        assert.isTrue(Schema.is(schema)(e), `error rejected: ${JSON.stringify(e)}`)
      }
    }).pipe(Effect.provide(stack)))
})
