import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { stack } from "./fixture.js"
import { double } from "./ProviderDouble.js"
import { withDoubles } from "./ReadmeExample.js"

describe("README library example", () => {
  it.scopedLive("runs the gateway with the adapters swapped for doubles", () =>
    Effect.gen(function* () {
      const s = yield* stack()
      const { meta, response } = yield* withDoubles([double("openai"), double("anthropic")], s.dir)
      // LOW priority favours the cheaper model: gpt-4o-mini over claude-haiku
      assert.strictEqual(meta.model, "gpt-4o-mini")
      assert.strictEqual(response.choices[0].message.content, "hello from openai")
      assert.strictEqual((yield* s.openai.requests).length, 0)
    }))
})
