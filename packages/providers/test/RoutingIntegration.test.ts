/**
 * 1,000 requests through RateLimiter + ModelSelector + Failover against the
 * testkit fake servers, over real HTTP with the real adapters:
 * - OpenAI (`mini`, cheapest) is rate limited by its fake at 40 requests per minute;
 * - Anthropic (`sonnet`, best quality) answers every call with a 500;
 * - Google (`flash`) is healthy and unlimited.
 * Shows: no request is refused by a fake for its rate limit, every request is
 * answered (or fails typed: none here, Google always has room), and the
 * Failover events are exactly the moves the attempts made. The real
 * RateLimiter, HealthChecker (probes off: passive signals), ApiKeys, selector
 * and failover; each request is what the Gateway does (rank, candidatesFor,
 * run with reserve -> key -> chat -> settle).
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { Events as EventsTag } from "@modelgate/core/Events"
import { Events } from "@modelgate/core/Events"
import * as Failover from "@modelgate/core/Failover"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, FailoverConfig, GatewayConfigData, HealthCheckConfig, ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import * as ApiKeys from "@modelgate/core/ApiKeys"
import * as HealthChecker from "@modelgate/core/HealthChecker"
import * as ModelRegistry from "@modelgate/core/ModelRegistry"
import * as ModelSelector from "@modelgate/core/ModelSelector"
import { type Provider, Providers } from "@modelgate/core/Provider"
import * as RateLimiter from "@modelgate/core/RateLimiter"
import * as RecordSink from "@modelgate/core/RecordSink"
import type { ChatRequest } from "@modelgate/domain/Chat"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { ModelMetadata } from "@modelgate/domain/Model"
import type { Priority } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Ref, Schema, Stream } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import * as OpenAi from "../src/OpenAi.js"

const REQUESTS = 1_000
const OPENAI_RPM = 40

const model = (fields: Record<string, unknown>) =>
  Schema.decodeUnknownSync(ModelMetadata)({
    capabilities: ["chat"],
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    qualityTier: "standard",
    ...fields
  })

const models = [
  model({
    id: "mini",
    provider: "openai",
    providerModel: "gpt-4o-mini",
    displayName: "mini",
    pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
    rateLimits: { rpm: OPENAI_RPM, tpm: 1_000_000 },
    qualityScore: 0.8
  }),
  model({
    id: "sonnet",
    provider: "anthropic",
    providerModel: "claude-sonnet-4-5",
    displayName: "sonnet",
    pricing: { inputPerMillion: 3, outputPerMillion: 15 },
    rateLimits: { rpm: 10_000, tpm: 10_000_000 },
    qualityScore: 0.95
  }),
  model({
    id: "flash",
    provider: "google",
    providerModel: "gemini-2.5-flash",
    displayName: "flash",
    pricing: { inputPerMillion: 0.3, outputPerMillion: 2.5 },
    rateLimits: { rpm: 10_000, tpm: 10_000_000 },
    qualityScore: 0.75
  })
]

/** An Events bus that keeps every event (the RateLimiter and Failover publish on it). */
const recordingEvents = Effect.gen(function*() {
  const all = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
  const service: EventsTag["Type"] = { publish: (e) => Ref.update(all, (a) => [...a, e]), subscribe: Stream.empty }
  return { service, all: Ref.get(all) }
})

describe("routing integration", () => {
  // On the TestClock, which stands still: every request falls in the limiter's one-minute window however long the
  // machine takes (in real time a slow run slid the window and let more than the quota through); no failover backoff.
  it.effect("1,000 requests: no fake rate-limit rejections, every request answered, failover events match the attempts", () =>
    Effect.gen(function*() {
      const openai = yield* FakeOpenAi.make()
      const anthropic = yield* FakeAnthropic.make()
      const google = yield* FakeGoogle.make()
      yield* openai.setRateLimit({ rpm: OPENAI_RPM })
      yield* anthropic.persist(Fault.status(500))

      const providerConfig = (baseUrl: string) => Effect.succeed(ProviderConfig.make({ baseUrl, maxRetries: 0, timeoutMs: 10_000 }))
      const adapters: Record<string, Provider> = {
        openai: yield* OpenAi.make(providerConfig(openai.baseUrl)),
        anthropic: yield* Anthropic.make(providerConfig(anthropic.url)),
        google: yield* Google.make(providerConfig(google.url))
      }

      const events = yield* recordingEvents
      // probes off: health here comes from the passive signals of real traffic
      const config = GatewayConfigData.make({
        ...defaultConfig,
        healthCheck: HealthCheckConfig.make({ ...defaultConfig.healthCheck, enabled: false }),
        failover: FailoverConfig.make({ ...defaultConfig.failover, backoffBaseMs: 0, backoffCapMs: 0 })
      })
      const base = Layer.mergeAll(
        GatewayConfig.layerStatic(config),
        Layer.succeed(Events, events.service),
        RecordSink.layerMemory,
        ModelRegistry.layerMemory(models),
        Layer.succeed(Providers, Providers.fromList(Object.values(adapters))),
        ApiKeys.layerStatic({ openai: ["sk-test-openai"], anthropic: [anthropic.apiKey], google: [google.apiKey] })
      )
      const services = Layer.mergeAll(RateLimiter.layerMemory, HealthChecker.layer).pipe(Layer.provideMerge(base))
      const ctx = yield* Layer.build(Layer.mergeAll(Failover.layer, ModelSelector.layer).pipe(Layer.provideMerge(services)))
      const limiter = Context.get(ctx, RateLimiter.RateLimiter)
      const selector = Context.get(ctx, ModelSelector.ModelSelector)
      const failover = Context.get(ctx, Failover.Failover)
      const keys = Context.get(ctx, ApiKeys.ApiKeys)
      const health = Context.get(ctx, HealthChecker.HealthChecker)

      const attempts = yield* Ref.make(new Map<string, ReadonlyArray<string>>())
      const priorities: ReadonlyArray<Priority> = ["LOW", "MEDIUM", "HIGH", "MEDIUM"]
      const prompt = 20
      const maxOutput = 64

      const one = (i: number) =>
        Effect.gen(function*() {
          const requestId = `req-${i}`
          const request: ChatRequest = { model: "auto", messages: [{ role: "user", content: `question ${i}` }], max_tokens: maxOutput }
          const priority = priorities[i % priorities.length]!
          const ranking = yield* selector.rank({
            requirements: { capabilities: ["chat"], priority },
            estimatedPromptTokens: prompt,
            maxOutputTokens: maxOutput,
            requestId
          })
          return yield* failover.run(
            Failover.candidatesFor("auto", ranking),
            (m) =>
              Effect.gen(function*() {
                yield* Ref.update(attempts, (a) => new Map(a).set(requestId, [...(a.get(requestId) ?? []), m.id]))
                const reservation = yield* limiter.reserve(m, prompt + maxOutput)
                const key = yield* keys.next(m.provider).pipe(Effect.tapError(() => limiter.release(reservation)))
                const result = yield* adapters[m.provider]!.chat({
                  request: { ...request, model: m.providerModel },
                  model: m,
                  key
                }).pipe(Effect.tapError(() => limiter.settle(reservation, prompt + maxOutput)))
                yield* limiter.settle(reservation, result.response.usage.total_tokens)
                if (result.rateLimit !== undefined) yield* limiter.observe(m, result.rateLimit)
                return result.response
              }),
            { requestId }
          )
        })

      const exits = yield* Effect.forEach(
        Array.from({ length: REQUESTS }, (_, i) => i),
        (i) => Effect.exit(one(i)),
        { concurrency: 16 }
      )

      // every request answered (Google always has room) and nothing died
      const answered = exits.filter(Exit.isSuccess)
      const failed = exits.filter(Exit.isFailure)
      assert.strictEqual(failed.length, 0, `unexpected failures: ${failed.slice(0, 3).map(String).join("; ")}`)
      assert.strictEqual(answered.length, REQUESTS)

      // zero requests refused by a fake for exceeding its rate limit; OpenAI got exactly its quota
      assert.strictEqual(yield* openai.rateLimitedCount, 0)
      const byModel = new Map<string, number>()
      for (const exit of answered) byModel.set(exit.value.model.id, (byModel.get(exit.value.model.id) ?? 0) + 1)
      const openaiCalls = (yield* openai.requests).filter((r) => r.method === "POST").length
      assert.isTrue(openaiCalls <= OPENAI_RPM && openaiCalls >= OPENAI_RPM - 2, `openai saw ${openaiCalls} calls`)
      assert.strictEqual(byModel.get("mini"), openaiCalls)
      assert.strictEqual(byModel.get("sonnet") ?? 0, 0)
      assert.strictEqual((byModel.get("mini") ?? 0) + (byModel.get("flash") ?? 0), REQUESTS)

      const published = yield* events.all
      // the failing provider: every call failed, then health took it out of the ranking
      const anthropicCalls = (yield* anthropic.requests).filter((r) => r.method === "POST").length
      assert.isTrue(anthropicCalls >= 3 && anthropicCalls < 3 + 16, `anthropic saw ${anthropicCalls} calls`)
      assert.isFalse(yield* health.isAvailable("sonnet"))
      assert.isTrue(published.some((e) => e._tag === "HealthChanged" && e.model === "sonnet" && e.to === "unavailable"))

      // failover events are exactly the moves between the attempts each request made
      const failovers = published.flatMap((e) => (e._tag === "Failover" ? [e] : []))
      const made = yield* Ref.get(attempts)
      const expected: Array<string> = []
      for (const [requestId, tried] of made) {
        for (let k = 1; k < tried.length; k++) expected.push(`${requestId} ${tried[k - 1]}->${tried[k]} #${k + 1}`)
      }
      const actual = failovers.map((e) => `${e.requestId} ${e.from}->${e.to} #${e.attempt}`)
      assert.deepStrictEqual([...actual].sort(), [...expected].sort())
      const awayFromSonnet = failovers.filter((e) => e.from === "sonnet")
      assert.strictEqual(awayFromSonnet.length, anthropicCalls, "each 500 from Anthropic is one failover away from sonnet")
      assert.isTrue(awayFromSonnet.every((e) => e.reason.startsWith("ServerError")))
      for (const e of failovers.filter((e) => e.from === "mini")) assert.isTrue(e.reason.startsWith("RateLimitExceeded"), e.reason)
      const outcomesFailovers = answered.reduce((n, exit) => n + exit.value.failovers, 0)
      assert.strictEqual(outcomesFailovers, failovers.length)
      // the limiter said so when OpenAI's model hit its limit
      assert.isTrue(published.some((e) => e._tag === "RateLimited" && e.model === "mini"))
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped), { timeout: 120_000 })
})
