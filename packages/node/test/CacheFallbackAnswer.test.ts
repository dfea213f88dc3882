/**
 * A named model's request answered by its fallback (the named model failed):
 * the answer is the fallback's, so it is cached as the fallback's answer of
 * that request. The next identical request naming the model goes to the model
 * it names, not to the fallback's answer in the cache; one naming the
 * fallback is served that answer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Chunk, Effect, Stream } from "effect"
import { ask, stack } from "./fixture.js"

const gateway = { cache: { enabled: true } }

describe("The response cache and a named model's fallback", () => {
  for (const streamed of [false, true]) {
    it.scopedLive(`${streamed ? "a streamed" : "an"} answer of the fallback is not replayed to the next request naming the model`, () =>
      Effect.gen(function* () {
        const s = yield* stack({ gateway })
        yield* Effect.gen(function* () {
          const g = yield* Gateway
          const question = ask("who answers this?", "gpt-4o-mini", { temperature: 0 })
          yield* s.openai.persist(Fault.status(500))
          if (streamed) {
            const first = yield* g.stream({ ...question, stream: true }, defaultRequirements)
            assert.strictEqual(first.meta.model, "claude-haiku")
            yield* Stream.runDrain(first.chunks)
          } else {
            const first = yield* g.complete(question, defaultRequirements)
            assert.strictEqual(first.meta.model, "claude-haiku")
          }
          yield* s.openai.persist(undefined)
          const again = yield* g.complete(question, defaultRequirements)
          assert.isFalse(again.meta.cacheHit, "served the fallback's cached answer")
          assert.strictEqual(again.meta.model, "gpt-4o-mini")
          // The fallback's answer is still that model's answer to the request.
          const fallback = yield* g.complete({ ...question, model: "claude-haiku" }, defaultRequirements)
          assert.isTrue(fallback.meta.cacheHit)
          assert.strictEqual(fallback.meta.model, "claude-haiku")
          // The named model's own answer is cached for it.
          const replayed = yield* g.stream({ ...question, stream: true }, defaultRequirements)
          assert.isTrue(replayed.meta.cacheHit)
          assert.strictEqual(replayed.meta.model, "gpt-4o-mini")
          const text = Chunk.toReadonlyArray(yield* Stream.runCollect(replayed.chunks)).map((c) => c.choices[0]?.delta.content ?? "").join("")
          assert.strictEqual(text, again.response.choices[0].message.content)
        }).pipe(Effect.provide(s.layer))
      }), 30_000)
  }
})
