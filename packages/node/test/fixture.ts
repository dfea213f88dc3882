/**
 * A gateway on real fakes: FakeOpenAi and FakeAnthropic on loopback, a temp
 * config directory pointing at them, SQLite in the same directory, keys from a
 * ConfigProvider map. Everything closes with the test's scope.
 */
import { Events } from "@modelgate/core/Events"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { ConfigReloaded, type GatewayEvent } from "@modelgate/domain/Events"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import type * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import type * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Fault, type FakeServer } from "@modelgate/testkit/FakeServer"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import Database from "better-sqlite3"
import { Clock, Effect, Exit, Fiber, Layer, Option, Ref, Stream, TestClock } from "effect"

/** A fixed instant (2026-01-15 12:00 UTC) to pin `TestClock` at: daily and monthly budget periods do not roll during a test. */
export const noonUtc = Date.UTC(2026, 0, 15, 12)

/** Two models: gpt-4o-mini (falls back to claude-haiku) and claude-haiku. */
export const models = (overrides: { rpm?: number; tpm?: number } = {}) => ({
  source: "test registry",
  models: [
    {
      id: "gpt-4o-mini",
      provider: "openai",
      providerModel: "gpt-4o-mini",
      displayName: "GPT-4o mini",
      capabilities: ["chat", "tools", "json_mode", "streaming"],
      contextWindow: 128000,
      maxOutputTokens: 16384,
      pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6, cachedInputPerMillion: 0.075 },
      rateLimits: { rpm: overrides.rpm ?? 500, tpm: overrides.tpm ?? 2_000_000 },
      qualityTier: "standard",
      qualityScore: 0.7,
      fallbacks: ["claude-haiku"]
    },
    {
      id: "claude-haiku",
      provider: "anthropic",
      providerModel: "claude-haiku-4-5",
      displayName: "Claude Haiku 4.5",
      capabilities: ["chat", "tools", "streaming"],
      contextWindow: 200000,
      maxOutputTokens: 8192,
      pricing: { inputPerMillion: 1, outputPerMillion: 5, cachedInputPerMillion: 0.1 },
      rateLimits: { rpm: 50, tpm: 50000 },
      qualityTier: "standard",
      qualityScore: 0.72
    }
  ]
})

/** The two models of `models`, plus `llama`: a free local Ollama model (llama3.1:8b) that falls back to gpt-4o-mini. */
export const withLocalLlama = () => {
  const base = models().models
  const llama = {
    ...base[0]!,
    id: "llama",
    provider: "ollama",
    providerModel: "llama3.1:8b",
    displayName: "Llama 3.1 8B",
    pricing: { inputPerMillion: 0, outputPerMillion: 0 },
    qualityScore: 0.9,
    fallbacks: ["gpt-4o-mini"]
  }
  return { source: "test registry", models: [...base, llama] }
}

/** Options of the stack. */
export interface StackOptions {
  readonly gateway?: Record<string, unknown>
  readonly models?: unknown
  /** Extra variables for the gateway's ConfigProvider (besides the two API keys). */
  readonly env?: Readonly<Record<string, string>>
  /** The OpenAI keys the fake accepts and the gateway reads (default: one). */
  readonly openAiApiKeys?: ReadonlyArray<string>
  /** How FakeAnthropic behaves (its limits, its clock). */
  readonly anthropic?: FakeAnthropic.FakeAnthropicOptions
  /** The usage details FakeOpenAi reports (reasoning, cached prompt tokens, ...). */
  readonly openAiUsage?: FakeOpenAi.FakeOpenAiOptions["usage"]
}

/** Start the fakes and write the config; returns them and the gateway layer. */
export const stack = (options: StackOptions = {}) =>
  Effect.gen(function* () {
    const { anthropic, configProvider, db, dir, openai } = yield* FakeStackConfig.make({
      prefix: "modelgate-node-",
      gateway: { failover: { backoffBaseMs: 1, backoffCapMs: 5, queueDeadlineMs: 0 }, ...options.gateway },
      models: options.models ?? models(),
      env: options.env,
      openAiApiKeys: options.openAiApiKeys,
      anthropic: options.anthropic,
      openAiUsage: options.openAiUsage
    })
    const layer = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(
      Layer.provide(Layer.setConfigProvider(configProvider))
    )
    return { openai, anthropic, dir, db, layer }
  })

/** One cost record as stored in the SQLite file. */
export interface CostRow {
  readonly model: string
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly cached_tokens: number
  readonly cost_pico: number
}

/** The cost records in the SQLite file `db`, in order (read once the layer closed: the writer flushed). */
export const costRows = (db: string): ReadonlyArray<CostRow> => {
  const conn = new Database(db, { readonly: true })
  try {
    return conn.prepare("SELECT model, prompt_tokens, completion_tokens, cached_tokens, cost_pico FROM cost_records ORDER BY at, id").all() as Array<CostRow>
  } finally {
    conn.close()
  }
}

/** A one-message request. */
export const ask = (content: string, model = "gpt-4o-mini", extra: Partial<ChatRequest> = {}): ChatRequest => ({
  ...extra,
  model,
  messages: [{ role: "user", content }]
})

const liveClock = Clock.make()

/**
 * Run `effect` until `done` holds of its result, sleeping 5 ms of wall time
 * between tries (so it also works under TestClock); dies after `timeoutMs`.
 */
export const poll = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (a: A) => boolean, timeoutMs = 5_000, what = "condition") =>
  Effect.gen(function* () {
    const deadline = liveClock.unsafeCurrentTimeMillis() + timeoutMs
    while (true) {
      const a = yield* effect
      if (done(a)) return a
      if (liveClock.unsafeCurrentTimeMillis() > deadline) return yield* Effect.dieMessage(`timed out after ${timeoutMs} ms waiting for ${what}`)
      yield* Effect.sleep("5 millis").pipe(Effect.withClock(liveClock))
    }
  })

/**
 * Collect every GatewayEvent published from now on (the subscription is live
 * when this returns). `seen` lists them; `waitFor` polls until one matches.
 */
export const recordEvents = Effect.gen(function* () {
  const events = yield* Events
  const seen = yield* Ref.make<ReadonlyArray<GatewayEvent>>([])
  const sentinel = ConfigReloaded.make({ at: -1, source: "scenario-sentinel" })
  yield* events.subscribe.pipe(
    Stream.runForEach((e) => Ref.update(seen, (all) => [...all, e])),
    Effect.forkScoped
  )
  yield* poll(Effect.zipRight(events.publish(sentinel), Ref.get(seen)), (all) => all.includes(sentinel), 2_000, "the event subscription")
  const all = Effect.map(Ref.get(seen), (xs) => xs.filter((e) => e !== sentinel))
  const ofTag = <T extends GatewayEvent["_tag"]>(tag: T) =>
    Effect.map(all, (xs) => xs.filter((e): e is Extract<GatewayEvent, { _tag: T }> => e._tag === tag))
  const waitFor = <T extends GatewayEvent["_tag"]>(tag: T, accept: (e: Extract<GatewayEvent, { _tag: T }>) => boolean = () => true, timeoutMs = 5_000) =>
    Effect.map(
      poll(Effect.map(ofTag(tag), (xs) => xs.filter(accept)), (xs) => xs.length > 0, timeoutMs, `a ${tag} event`),
      (xs) => xs[0]!
    )
  return { all, ofTag, waitFor } as const
})

/**
 * Run `calls`, which send `count` requests to `server`, so that each of them
 * takes exactly `ms` of `TestClock` time: the fake holds the requests
 * (`Fault.hold`) until all `count` have arrived (real socket I/O, waited for in
 * real time), the clock moves by `ms`, then they are answered. Requests that
 * arrive later are not held. `TestClock.adjust` also wakes the gateway's own
 * timers: keep `ms` below the provider timeouts (5 s in `stack`).
 */
export const answeredAfter = <A, E, R>(server: FakeServer, count: number, ms: number, calls: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const gate = yield* Effect.makeLatch(false)
    yield* server.persist(Fault.hold(gate))
    const fiber = yield* Effect.fork(calls)
    yield* Effect.raceFirst(
      server.awaitHeld(count),
      Effect.flatMap(Fiber.await(fiber), (exit) =>
        Exit.isFailure(exit) ? Effect.failCause(exit.cause) : Effect.dieMessage(`the calls ended before ${count} requests were held`))
    )
    yield* TestClock.adjust(ms)
    yield* server.persist(undefined)
    yield* gate.open
    return yield* Fiber.join(fiber)
  })

/**
 * Run `effect` on a fork and wait for it to end while nothing moves the
 * `TestClock`: it ends only if it never waits on the clock (a queue deadline,
 * a backoff, a timeout). Its outcome is returned as its own. Waiting is polled
 * in real time; dies after `giveUpMs` of real time naming `what` (it waits on
 * the clock, or the machine stalled that long).
 */
export const endsWithClockStill = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string, giveUpMs = 10_000) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(effect)
    const exit = yield* poll(Fiber.poll(fiber), Option.isSome, giveUpMs, `${what} to end with the TestClock standing still`)
    return yield* Option.getOrThrow(exit)
  })
