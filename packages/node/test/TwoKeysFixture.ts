/**
 * A stack with two OpenAI keys and gpt-4o-mini alone (no fallback), and the
 * 429 the fake answers with a retry hint only: the setup of the tests of a
 * provider refusing every key of a model.
 */
import { Gateway } from "@modelgate/core/Gateway"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, type Layer, type Scope, TestClock } from "effect"
import { models, noonUtc, stack } from "./fixture.js"

/** The two OpenAI keys, as the fake sees them. */
export const keyA = "sk-test-openai"
export const keyB = "sk-test-openai-second"

/** gpt-4o-mini alone (no fallback): a request for it is served by it or waits for it. */
const onlyMini = () => {
  const m = models()
  return { ...m, models: [{ ...m.models[0]!, fallbacks: [] }] }
}

/** A 429 whose only hint is `retry-after` (no `x-ratelimit-remaining-*` header). */
export const refusedFor = (seconds: number) =>
  Fault.status(429, {
    body: { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded", param: null } },
    headers: { "retry-after": String(seconds) }
  })

/** The stack: gpt-4o-mini alone on two keys, no cache, no backoff, a 5 s queue deadline. */
export const twoKeys = () =>
  stack({
    models: onlyMini(),
    openAiApiKeys: [keyA, keyB],
    gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 5_000 } }
  })

/** The stack `twoKeys` builds. */
type TwoKeys = Effect.Effect.Success<ReturnType<typeof twoKeys>>

/** What `body` may use: the stack layer's services (the Gateway, Events, ...) and the test's scope. */
type Provided = Layer.Layer.Success<TwoKeys["layer"]> | Scope.Scope

/** `body` run at noon (TestClock) on the `twoKeys` stack, with its Gateway. */
export const onTwoKeys = <A, E>(body: (s: TwoKeys, gateway: Gateway["Type"]) => Effect.Effect<A, E, Provided>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(noonUtc)
    const s = yield* twoKeys()
    return yield* Effect.flatMap(Gateway, (gateway) => body(s, gateway)).pipe(Effect.provide(s.layer))
  })

/** The key (`Authorization: Bearer ...`) of each chat call among `requests`, in order. */
export const chatKeys = (requests: ReadonlyArray<{ readonly path: string; readonly headers: Readonly<Record<string, string>> }>) =>
  requests.filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.headers["authorization"]?.slice("Bearer ".length))
