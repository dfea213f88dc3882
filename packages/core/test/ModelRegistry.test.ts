import { assert, describe, it } from "@effect/vitest"
import { ModelRegistry, layerMemory } from "@modelgate/core/ModelRegistry"
import { Effect, Either } from "effect"
import { model, rawModel } from "./ModelRegistryFixtures.js"

const base = [
  model("gpt-4o-mini", { fallbacks: ["haiku"] }),
  model("haiku", { provider: "anthropic", providerModel: "claude-haiku-4-5", capabilities: ["chat", "vision"] })
]

describe("ModelRegistry.layerMemory", () => {
  it.effect("gets, resolves by provider/providerModel, adds and updates", () =>
    Effect.gen(function* () {
      const registry = yield* ModelRegistry
      assert.strictEqual((yield* registry.get("haiku")).provider, "anthropic")
      assert.strictEqual((yield* registry.resolve("anthropic/claude-haiku-4-5")).id, "haiku")
      assert.strictEqual((yield* registry.resolve("gpt-4o-mini")).id, "gpt-4o-mini")
      const missing = yield* Effect.either(registry.resolve("openai/nope"))
      assert.isTrue(Either.isLeft(missing) && missing.left._tag === "ModelNotFound")

      const added = yield* registry.add(rawModel("o4-mini", { fallbacks: ["gpt-4o-mini"] }))
      assert.deepStrictEqual(added.fallbacks, ["gpt-4o-mini"])
      const updated = yield* registry.update("haiku", { enabled: false })
      assert.isFalse(updated.enabled)
      assert.deepStrictEqual((yield* registry.enabled).map((m) => m.id), ["gpt-4o-mini", "o4-mini"])
      assert.deepStrictEqual((yield* registry.reload).map((m) => m.id), ["gpt-4o-mini", "haiku", "o4-mini"])
      assert.isFalse((yield* registry.get("haiku")).enabled)
    }).pipe(Effect.provide(layerMemory(base))))
})
