/**
 * A model removed or disabled by a reload no longer answers, from the
 * response cache either: an `auto` request whose cached answer came from it
 * is a miss, and is answered (and cached afresh) by a model in service.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Effect, TestClock } from "effect"
import { ask, models, noonUtc, stack } from "./fixture.js"
import { reload, writeModels } from "./reloadFixture.js"

const gateway = {
  cache: { enabled: true, cacheNonDeterministic: true },
  failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
}

describe("Reload and the response cache", () => {
  for (const change of [
    { name: "removed", edit: () => undefined },
    { name: "disabled", edit: (m: Record<string, unknown>) => ({ ...m, enabled: false }) }
  ]) {
    it.scoped(`an auto request whose cached answer came from a model since ${change.name} is answered by a model in service`, () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(noonUtc)
        const m = models()
        const s = yield* stack({ models: m, gateway })
        yield* Effect.gen(function* () {
          const g = yield* Gateway
          const first = yield* g.complete(ask("the same question", "auto"), defaultRequirements)
          const served = first.meta.model
          const cached = yield* g.complete(ask("the same question", "auto"), defaultRequirements)
          assert.isTrue(cached.meta.cacheHit)
          const kept = m.models.filter((x) => x.id !== served)
          const edited = change.edit(m.models.find((x) => x.id === served)!)
          yield* writeModels(s, { ...m, models: [...(edited === undefined ? [] : [edited]), ...kept.map((x) => ({ ...x, fallbacks: [] }))] })
          yield* reload
          const after = yield* g.complete(ask("the same question", "auto"), defaultRequirements)
          assert.notStrictEqual(after.meta.model, served, `answered from the cache by ${served}, ${change.name}`)
          assert.isFalse(after.meta.cacheHit)
        }).pipe(Effect.provide(s.layer))
      }), 30_000)
  }
})
