/**
 * Gemini 2.5 takes no presence or frequency penalty: it answers them with a
 * 400 "Penalty is not enabled for models/gemini-2.5-flash" (Gemini 2.0 took
 * them; Gemini 3 refuses them too). Many OpenAI clients send a penalty with
 * every request. With the shipped registry, a request that sets them is
 * answered by the Gemini model asked (without them, as by a provider that
 * has no such field), not refused with a 400.
 *
 * The fakes answer over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ask, stack } from "./fixture.js"

const shipped = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../config/models.json")

describe("Gemini penalties with the shipped registry", () => {
  it.scopedLive("each shipped Gemini model answers a request with presence and frequency penalties, sent without them", () =>
    Effect.gen(function* () {
      const registry = JSON.parse(fs.readFileSync(shipped, "utf8")) as { readonly models: ReadonlyArray<{ readonly id: string; readonly provider: string }> }
      const geminis = registry.models.filter((m) => m.provider === "google").map((m) => m.id)
      assert.isNotEmpty(geminis)
      const google = yield* FakeGoogle.make()
      const s = yield* stack({ models: registry, env: { GEMINI_BASE_URL: google.baseUrl, GEMINI_API_KEY: google.apiKey } })
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        for (const id of geminis) {
          const answer = yield* gateway.complete(ask("hello", id, { presence_penalty: 0.4, frequency_penalty: 0.2 }), defaultRequirements)
          assert.strictEqual(answer.meta.model, id)
          const sent = (yield* google.requests).at(-1)?.json as { readonly generationConfig?: Record<string, unknown> }
          assert.notProperty(sent.generationConfig ?? {}, "presencePenalty")
          assert.notProperty(sent.generationConfig ?? {}, "frequencyPenalty")
        }
      }).pipe(Effect.provide(s.layer))
    }))
})
