/**
 * `POST /admin/select` announces nothing: a model it finds rate limited is
 * not announced by the dry run (no `RateLimited` on `/v1/events`), and the
 * next chat request, which finds it so too, still announces it, once.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import * as path from "node:path"
import { readSse } from "./support/Client.js"
import { twoModels } from "./support/Registry.js"
import { bearer, call, chat, editJson, master, serveOverFakes } from "./support/VkStack.js"

const oneAMinute = twoModels("admin select announces nothing", { openai: { rpm: 1, tpm: 100_000 }, anthropic: { rpm: 1, tpm: 100_000 } })

describe("POST /admin/select announces nothing", () => {
  it.scopedLive("a dry run that ranks a model out as rate limited publishes no RateLimited; the next chat request does, once", () =>
    Effect.gen(function* () {
      const { dir, server, url } = yield* serveOverFakes({ cache: { enabled: false } }, oneAMinute)
      const seen: Array<any> = []
      const servedBy = (model: string) => seen.some((e) => e._tag === "ModelSelected" && e.model === model)
      const reader = yield* Effect.fork(
        Effect.provideService(
          readSse("/v1/events", bearer(master), (data) => {
            seen.splice(0, seen.length, ...data)
            return servedBy("claude-haiku") ? true : undefined
          }),
          HttpServer.HttpServer,
          server
        )
      )
      // A reload that changes nothing publishes nothing: each one changes the harmless `$schema`.
      let reloads = 0
      const reload = Effect.zipRight(
        editJson(path.join(dir, "gateway.json"), (gateway) => {
          gateway.$schema = `marker-${++reloads}`
        }),
        call(url, "/admin/reload", { method: "POST", headers: bearer(master) })
      )
      // The subscription starts when the request arrives: reload until the reader has heard one.
      yield* Effect.repeat(reload, { schedule: Schedule.spaced("20 millis"), until: () => seen.some((e) => e._tag === "ConfigReloaded") })

      const first = yield* call(url, "/v1/chat/completions", { body: chat("auto"), headers: bearer(master) })
      assert.strictEqual(first.headers.get("x-modelgate-model"), "gpt-4o-mini", first.text)
      for (let i = 0; i < 2; i++) {
        const dry = yield* call(url, "/admin/select", { body: chat("auto"), headers: bearer(master) })
        assert.deepStrictEqual(dry.json.ranked.map((r: any) => r.model), ["claude-haiku"], dry.text)
      }
      // A marker on the stream between the dry runs and the next chat request.
      yield* reload
      const second = yield* call(url, "/v1/chat/completions", { body: chat("auto"), headers: bearer(master) })
      assert.strictEqual(second.headers.get("x-modelgate-model"), "claude-haiku", second.text)
      yield* Fiber.join(reader)

      const marker = seen.map((e) => e._tag).lastIndexOf("ConfigReloaded")
      const limited = seen.flatMap((e, i) => (e._tag === "RateLimited" && e.model === "gpt-4o-mini" && e.keyId === undefined ? [i] : []))
      assert.strictEqual(limited.length, 1, JSON.stringify(seen.map((e) => e._tag)))
      assert.isAbove(limited[0]!, marker, "announced by a dry run, before the chat request that found it rate limited")
    }), { timeout: 15_000 })
})
