/**
 * Scenario: requests a provider would answer without part of them never go
 * to it (`Provider.cannotServe`).
 * - Several choices (`n: 2`): Anthropic answers one choice per request, so a
 *   named Anthropic model is refused with `UnsupportedParameter` before any
 *   call, failover from an OpenAI model does not fall back to it, and `auto`
 *   ranks without it. On OpenAI both choices come back, streamed
 *   (interleaved) or whole, and a streamed answer is cached with both.
 * - OpenAI parameters modelgate does not model (`prediction`): sent on to
 *   OpenAI as they are, never to Anthropic; a `service_tier` priced otherwise
 *   than the registry's is refused everywhere.
 * - `max_tokens` to an OpenAI reasoning model, which refuses it: sent as
 *   `max_completion_tokens`.
 * - Content a provider cannot take (audio input on Anthropic): `auto` serves
 *   it elsewhere; naming such a model is refused with no call.
 * - A model's `refusedParameters` (an OpenAI reasoning model's sampling and
 *   `stop`, which OpenAI answers with a 400): a sampling hint is left out of
 *   requests to it, any other such field keeps the request from it.
 *
 * The fakes answer over real sockets (live clock).
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { defaultRequirements, type TaskRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Chunk, Effect, Either, Stream } from "effect"
import { ask, models, stack } from "./fixture.js"

const only = (...allowedModels: Array<string>): TaskRequirements => ({ ...defaultRequirements, allowedModels })
const chatCalls = (requests: ReadonlyArray<{ readonly path: string }>) =>
  requests.filter((r) => r.path.endsWith("/messages") || r.path.endsWith("/chat/completions")).length

describe("Scenario: requests a provider would answer without part of them", () => {
  it.scopedLive("never reaches a provider that answers one choice; OpenAI gives both, streamed or whole, and a stream is cached with both", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: true } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway

        // named Anthropic model: refused, naming the field, with no call
        const refused = yield* Effect.either(gateway.complete(ask("two please", "claude-haiku", { n: 2 }), defaultRequirements))
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "UnsupportedParameter")
        if (Either.isLeft(refused) && refused.left._tag === "UnsupportedParameter") {
          assert.strictEqual(refused.left.param, "n")
          assert.include(refused.left.message, "claude-haiku")
          assert.include(refused.left.message, "anthropic answers one choice per request (n=2 asked)")
        }
        assert.strictEqual(chatCalls(yield* s.anthropic.requests), 0)
        // n: 1 is one choice: served as always
        const one = yield* gateway.complete(ask("one please", "claude-haiku", { n: 1 }), defaultRequirements)
        assert.strictEqual(one.response.choices.length, 1)

        // auto among Anthropic models only: nothing eligible, and the reason says why
        const none = yield* Effect.either(gateway.complete(ask("two please", "auto", { n: 2 }), only("claude-haiku")))
        assert.isTrue(Either.isLeft(none) && none.left._tag === "NoEligibleModel")
        if (Either.isLeft(none) && none.left._tag === "NoEligibleModel") {
          assert.include(none.left.message, "claude-haiku (anthropic answers one choice per request (n=2 asked))")
          // Ruled out by the request itself (HTTP 400, not a 503 to retry)
          assert.deepStrictEqual(none.left.exclusions.map((e) => e.kind), ["request", "request"])
        }

        // OpenAI: both choices, whole
        const whole = yield* gateway.complete(ask("two whole", "gpt-4o-mini", { n: 2, temperature: 0 }), defaultRequirements)
        assert.deepStrictEqual(whole.response.choices.map((c) => c.index), [0, 1])
        assert.include(whole.response.choices[1]?.message.content ?? "", "(choice 2)")

        // OpenAI: both choices, streamed interleaved; the stream's answer is cached with both
        const question = ask("two streamed", "gpt-4o-mini", { n: 2, temperature: 0 })
        const streamed = yield* gateway.stream({ ...question, stream: true }, defaultRequirements)
        const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(streamed.chunks))
        const textOf = (index: number) =>
          chunks.flatMap((c) => c.choices.filter((choice) => choice.index === index).map((choice) => choice.delta.content ?? "")).join("")
        assert.include(textOf(0), "two streamed")
        assert.include(textOf(1), "(choice 2)")
        const cached = yield* gateway.complete(question, defaultRequirements)
        assert.isTrue(cached.meta.cacheHit)
        assert.deepStrictEqual(cached.response.choices.map((c) => c.message.content), [textOf(0), textOf(1)])

        // failover from OpenAI does not fall back to Anthropic for n: 2
        yield* s.openai.persist(Fault.status(500))
        const failed = yield* Effect.either(gateway.complete(ask("two, failing", "gpt-4o-mini", { n: 2 }), defaultRequirements))
        assert.isTrue(Either.isLeft(failed))
        assert.strictEqual(chatCalls(yield* s.anthropic.requests), 1, "only the n: 1 request above reached Anthropic")
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("OpenAI parameters modelgate does not model go to OpenAI as they are and never to Anthropic; another service tier is refused", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const prediction = { type: "content", content: "fake openai answer" }
        const withPrediction = (model: string) => ({ ...ask("predict me", model), prediction }) as ChatRequest

        const served = yield* gateway.complete(withPrediction("auto"), only("claude-haiku", "gpt-4o-mini"))
        assert.strictEqual(served.meta.model, "gpt-4o-mini")
        const sent = (yield* s.openai.requests).filter((r) => r.path.endsWith("/chat/completions")).at(-1)!
        assert.deepStrictEqual((sent.json as Record<string, unknown>)["prediction"], prediction)

        const onlyClaude = yield* Effect.either(gateway.complete(withPrediction("auto"), only("claude-haiku")))
        assert.isTrue(Either.isLeft(onlyClaude) && onlyClaude.left._tag === "NoEligibleModel")
        if (Either.isLeft(onlyClaude)) assert.include(onlyClaude.left.message, "claude-haiku (anthropic takes no 'prediction'")

        const refused = yield* Effect.either(gateway.complete(withPrediction("claude-haiku"), defaultRequirements))
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "UnsupportedParameter" && refused.left.param === "prediction")
        const flex = yield* Effect.either(gateway.complete({ ...ask("flex please"), service_tier: "flex" } as ChatRequest, defaultRequirements))
        assert.isTrue(Either.isLeft(flex) && flex.left._tag === "UnsupportedParameter" && flex.left.param === "service_tier")
        assert.strictEqual(chatCalls(yield* s.anthropic.requests), 0)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("max_tokens to an OpenAI reasoning model goes as max_completion_tokens, which the provider takes (it refuses max_tokens)", () =>
    Effect.gen(function* () {
      const registry = models()
      const o4mini = { ...registry.models[0]!, id: "o4-mini", providerModel: "o4-mini", capabilities: ["chat", "reasoning"], fallbacks: [] }
      const s = yield* stack({ models: { ...registry, models: [...registry.models, o4mini] } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const answer = yield* gateway.complete(ask("think briefly", "o4-mini", { max_tokens: 50 }), defaultRequirements)
        assert.strictEqual(answer.meta.model, "o4-mini")
        const sent = (yield* s.openai.requests).filter((r) => r.path.endsWith("/chat/completions")).at(-1)!.json as Record<string, unknown>
        assert.strictEqual(sent["max_completion_tokens"], 50)
        assert.notProperty(sent, "max_tokens")
        // Other models get max_tokens as asked.
        yield* gateway.complete(ask("no thinking", "gpt-4o-mini", { max_tokens: 50 }), defaultRequirements)
        const plain = (yield* s.openai.requests).filter((r) => r.path.endsWith("/chat/completions")).at(-1)!.json as Record<string, unknown>
        assert.strictEqual(plain["max_tokens"], 50)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("audio input never goes to Anthropic, which takes none: auto serves it on OpenAI, and naming Claude is refused with no call", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const listen = (model: string): ChatRequest => ({
          model,
          messages: [{ role: "user", content: [{ type: "text", text: "what is said?" }, { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }] }]
        })
        const served = yield* gateway.complete(listen("auto"), only("claude-haiku", "gpt-4o-mini"))
        assert.strictEqual(served.meta.model, "gpt-4o-mini")
        const onlyClaude = yield* Effect.either(gateway.complete(listen("auto"), only("claude-haiku")))
        assert.isTrue(Either.isLeft(onlyClaude) && onlyClaude.left._tag === "NoEligibleModel")
        if (Either.isLeft(onlyClaude)) assert.include(onlyClaude.left.message, "claude-haiku (anthropic takes no audio input (the request has an input_audio part))")
        const named = yield* Effect.either(gateway.complete(listen("claude-haiku"), defaultRequirements))
        assert.isTrue(Either.isLeft(named) && named.left._tag === "UnsupportedParameter" && named.left.param === "messages")
        assert.strictEqual(chatCalls(yield* s.anthropic.requests), 0)
      }).pipe(Effect.provide(s.layer))
    }))

  it.scopedLive("an OpenAI reasoning model that refuses sampling and stop: temperature is left out of its requests, stop keeps requests from it", () =>
    Effect.gen(function* () {
      const registry = models()
      const o4mini = {
        ...registry.models[0]!,
        id: "o4-mini",
        providerModel: "o4-mini",
        capabilities: ["chat", "reasoning"],
        fallbacks: [],
        refusedParameters: ["temperature", "top_p", "stop"]
      }
      const s = yield* stack({ models: { ...registry, models: [...registry.models, o4mini] }, gateway: { cache: { enabled: true } } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const lastSent = Effect.map(s.openai.requests, (rs) => rs.filter((r) => r.path.endsWith("/chat/completions")).at(-1)!.json as Record<string, unknown>)
        // temperature 0 (what the cache needs) is served: the fake, like OpenAI, would answer it with a 400
        const cool = yield* gateway.complete(ask("think coolly", "o4-mini", { temperature: 0, seed: 3 }), defaultRequirements)
        assert.strictEqual(cool.meta.model, "o4-mini")
        const sent = yield* lastSent
        assert.notProperty(sent, "temperature")
        assert.strictEqual(sent["seed"], 3)
        // cached under the request as asked
        assert.isTrue((yield* gateway.complete(ask("think coolly", "o4-mini", { temperature: 0, seed: 3 }), defaultRequirements)).meta.cacheHit)
        // gpt-4o-mini still gets the temperature it was asked
        yield* gateway.complete(ask("warm", "gpt-4o-mini", { temperature: 0.7 }), defaultRequirements)
        assert.strictEqual((yield* lastSent)["temperature"], 0.7)

        // stop changes the answer: never dropped, so never sent to o4-mini
        const calls = (yield* s.openai.requests).length
        const named = yield* Effect.either(gateway.complete(ask("stop here", "o4-mini", { stop: ["END"] }), defaultRequirements))
        assert.isTrue(Either.isLeft(named) && named.left._tag === "UnsupportedParameter" && named.left.param === "stop")
        if (Either.isLeft(named)) assert.include(named.left.message, "o4-mini refuses stop (its registry entry lists it in refusedParameters)")
        assert.strictEqual((yield* s.openai.requests).length, calls)
        const routed = yield* gateway.complete(ask("stop here", "auto", { stop: ["END"] }), only("o4-mini", "gpt-4o-mini"))
        assert.strictEqual(routed.meta.model, "gpt-4o-mini")
      }).pipe(Effect.provide(s.layer))
    }))
})
