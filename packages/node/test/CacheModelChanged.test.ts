/**
 * A registry id pointed at another model (`providerModel` changed by
 * `PATCH /admin/models`, a reload, or a restart with another models.json),
 * or asked otherwise (`maxOutputTokens`: Claude's default `max_tokens`),
 * answers afresh: what it answered before is not replayed for it, named or
 * picked by `auto`. A price change keeps the cached answers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import type { RecordedRequest } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { ask, stack } from "./fixture.js"

const gateway = { cache: { enabled: true } }

/** `field` of every request body the fake received. */
const sent = (requests: ReadonlyArray<RecordedRequest>, field: string) =>
  requests.map((r) => (r.json as Record<string, unknown> | undefined)?.[field])

const changes = [
  {
    name: "a named request, providerModel changed",
    id: "gpt-4o-mini",
    model: "gpt-4o-mini",
    requirements: defaultRequirements,
    patch: { providerModel: "gpt-4o" },
    server: "openai" as const,
    field: "model",
    before: "gpt-4o-mini",
    after: "gpt-4o"
  },
  {
    // `auto` restricted to gpt-4o-mini, so the same model serves it before and after.
    name: "an auto request, providerModel changed",
    id: "gpt-4o-mini",
    model: "auto",
    requirements: { ...defaultRequirements, allowedModels: ["gpt-4o-mini"] },
    patch: { providerModel: "gpt-4o" },
    server: "openai" as const,
    field: "model",
    before: "gpt-4o-mini",
    after: "gpt-4o"
  },
  {
    name: "a named request without max_tokens, maxOutputTokens changed",
    id: "claude-haiku",
    model: "claude-haiku",
    requirements: defaultRequirements,
    patch: { maxOutputTokens: 1024 },
    server: "anthropic" as const,
    field: "max_tokens",
    before: 8192,
    after: 1024
  }
]

describe("The response cache and a model the registry changed", () => {
  for (const c of changes) {
    it.scopedLive(`${c.name}: answered afresh, not with the answer cached before`, () =>
      Effect.gen(function* () {
        const s = yield* stack({ gateway })
        yield* Effect.gen(function* () {
          const g = yield* Gateway
          const registry = yield* ModelRegistry
          const question = ask("which model answers this?", c.model, { temperature: 0 })
          const first = yield* g.complete(question, c.requirements)
          assert.strictEqual(first.meta.model, c.id)
          assert.isTrue((yield* g.complete(question, c.requirements)).meta.cacheHit)
          yield* registry.update(c.id, c.patch)
          const after = yield* g.complete(question, c.requirements)
          assert.isFalse(after.meta.cacheHit, `replayed what ${c.id} answered before the change`)
          assert.deepStrictEqual(sent(yield* s[c.server].requests, c.field), [c.before, c.after])
          // The changed model's answer is cached as usual.
          assert.isTrue((yield* g.complete(question, c.requirements)).meta.cacheHit)
        }).pipe(Effect.provide(s.layer))
      }), 30_000)
  }

  it.scopedLive("a price change keeps the cached answers, named and auto", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway })
      yield* Effect.gen(function* () {
        const g = yield* Gateway
        const registry = yield* ModelRegistry
        const cases = changes.slice(0, 2)
        for (const c of cases) yield* g.complete(ask("which model answers this?", c.model, { temperature: 0 }), c.requirements)
        const model = yield* registry.get("gpt-4o-mini")
        yield* registry.update("gpt-4o-mini", { pricing: { ...model.pricing, inputPerMillion: 0.2 } })
        for (const c of cases) {
          const again = yield* g.complete(ask("which model answers this?", c.model, { temperature: 0 }), c.requirements)
          assert.isTrue(again.meta.cacheHit, `${c.name}: missed after a price change`)
        }
      }).pipe(Effect.provide(s.layer))
    }), 30_000)
})
