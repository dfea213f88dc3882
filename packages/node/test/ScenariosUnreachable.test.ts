/**
 * Scenario: Ollama is not running (nothing listens at `OLLAMA_HOST`). The
 * probe at start cannot connect, and that one probe takes its models out: the
 * first request already goes to the fallback, with no attempt on the local
 * model, and a request that only Ollama could serve gets a 503 at once naming
 * the address, instead of a 502 after retries against a closed port.
 *
 * Time is `TestClock`; the fakes answer over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, Either } from "effect"
import * as net from "node:net"
import { ask, endsWithClockStill, poll, stack, withLocalLlama } from "./fixture.js"

/** A loopback port nothing listens on: taken from the system, then freed. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

/** The fixture's models and local llama, plus a local qwen with no fallback. */
const withOllama = () => {
  const { models, source } = withLocalLlama()
  const llama = models[models.length - 1]!
  const { fallbacks: _fallbacks, ...qwen } = { ...llama, id: "qwen", providerModel: "qwen2.5-coder:7b" }
  return { source, models: [...models, qwen] }
}

describe("Scenario: a local provider that is not running", () => {
  it.scoped("is out from the first request: fallback with no attempt on it, or a 503 at once naming the address", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const s = yield* stack({
        models: withOllama(),
        gateway: { healthCheck: { intervalMs: 60_000, failureThreshold: 3 } },
        env: { OLLAMA_HOST: `127.0.0.1:${port}` }
      })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const health = yield* HealthChecker
        const down = yield* poll(health.status("llama"), (h) => h.status === "unavailable", 5_000, "the probe at start")
        assert.include(down.reason, `ECONNREFUSED 127.0.0.1:${port}`)

        const answer = yield* endsWithClockStill(gateway.complete(ask("hello", "llama"), defaultRequirements), "the request to llama")
        assert.strictEqual(answer.meta.model, "gpt-4o-mini")
        assert.deepStrictEqual(answer.meta.failovers, 0)

        const refused = yield* endsWithClockStill(Effect.either(gateway.complete(ask("hello", "qwen"), defaultRequirements)), "the request to qwen")
        assert.isTrue(Either.isLeft(refused) && refused.left._tag === "NoEligibleModel")
        if (Either.isLeft(refused)) {
          assert.include(refused.left.message, "unreachable")
          assert.include(refused.left.message, `127.0.0.1:${port}`)
        }
      }).pipe(Effect.provide(s.layer))
    }))
})
