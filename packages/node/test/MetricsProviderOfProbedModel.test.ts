/**
 * A model known only from its health probes (no request served yet: most of
 * the registry right after a start) is labelled with its provider in
 * `/metrics` and `/v1/metrics`, as it is once it serves requests: its probe
 * records name the provider. Before, its series read `provider=""` and moved
 * to a new series at its first request.
 */
import { assert, describe, it } from "@effect/vitest"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import * as Metrics from "@modelgate/core/Metrics"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { poll, stack } from "./fixture.js"

describe("metrics of a model known only from its probes", () => {
  it.scoped("name its provider, in the live counters and in the stored records", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: false }, healthCheck: { intervalMs: 1_000, failureThreshold: 1 } } })
      yield* s.anthropic.persist(Fault.status(500))
      yield* Effect.gen(function* () {
        const health = yield* HealthChecker
        const metrics = yield* Metrics.Metrics
        yield* poll(health.status("claude-haiku"), (h) => h.status === "unavailable", 5_000, "claude-haiku's failed probe")
        const text = yield* metrics.prometheus
        const availability = text.split("\n").filter((l) => l.startsWith('modelgate_model_availability{model="claude-haiku"'))
        assert.deepStrictEqual(availability.map((l) => l.replace(/ [\d.]+$/, "")), ['modelgate_model_availability{model="claude-haiku",provider="anthropic"}'], text)
        assert.strictEqual((yield* metrics.live).models.find((m) => m.model === "claude-haiku")?.provider, "anthropic")
        // the stored records (written behind) name it too
        const stored = yield* poll(
          metrics.query({}),
          (snapshot) => snapshot.models.some((m) => m.model === "claude-haiku"),
          5_000,
          "claude-haiku's checks in the store"
        )
        assert.strictEqual(stored.models.find((m) => m.model === "claude-haiku")?.provider, "anthropic")
        // a provider filter lists it under its provider only; an agent-type filter (checks carry none) leaves it out
        const listed = (filter: Metrics.MetricsFilter) => Effect.map(metrics.query(filter), (snapshot) => snapshot.models.map((m) => m.model))
        assert.deepStrictEqual(yield* listed({ provider: "anthropic" }), ["claude-haiku"])
        assert.notInclude(yield* listed({ provider: "openai" }), "claude-haiku")
        assert.notInclude(yield* listed({ provider: "anthropic", agentType: "coder" }), "claude-haiku")
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
