/**
 * `modelgate demo` runs "on a temporary database" in front of its own fakes,
 * whatever the user's environment (or `.env`) says for the real gateway:
 * `MODELGATE_DB` must not make the demo write fake costs into the user's
 * database, `OLLAMA_HOST` / `*_BASE_URL` must not point the demo's providers
 * away from the fakes, and the user's real keys (`GOOGLE_API_KEY`,
 * `<NAME>_1..n`) must not be rotated in with the fakes' keys (the fakes
 * reject them, and the demo shows failovers and keys set aside that have
 * nothing to do with what it means to show).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { startDemo } from "./support/DemoRun.js"

/** The demo started with `env`, at its address. */
const startAt = (env: Record<string, string>) =>
  Effect.map(startDemo(env), ({ base, fiber, out }) => ({ base: base!, fiber, out }))

const chat = (base: string, model: string) =>
  Effect.promise(async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] })
    })
    return { status: res.status, model: res.headers.get("x-modelgate-model"), failovers: res.headers.get("x-modelgate-failovers"), body: await res.text() }
  })

describe("demo ignores the user's provider settings", () => {
  it.live("does not open or write MODELGATE_DB", () =>
    Effect.gen(function* () {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-userdb-"))
      const userDb = Path.join(dir, "mine.db")
      const { base, fiber } = yield* startAt({ MODELGATE_DB: userDb })
      const res = yield* chat(base, "claude-haiku-4-5")
      assert.strictEqual(res.status, 200, res.body)
      yield* Fiber.interrupt(fiber)
      assert.isFalse(Fs.existsSync(userDb), "the demo wrote into the user's MODELGATE_DB")
    }), 30_000)

  it.live("keeps its providers on the fakes whatever OLLAMA_HOST and *_BASE_URL say", () =>
    Effect.gen(function* () {
      const { base, fiber } = yield* startAt({
        OLLAMA_HOST: "127.0.0.1:9",
        OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
        ANTHROPIC_BASE_URL: "http://127.0.0.1:9"
      })
      for (const model of ["llama3.1:8b", "claude-haiku-4-5", "gpt-4.1"]) {
        const res = yield* chat(base, model)
        assert.strictEqual(res.status, 200, res.body)
        assert.strictEqual(res.model, model, `${model} was not served by its fake (failovers=${res.failovers})`)
        assert.strictEqual(res.failovers, "0", model)
      }
      yield* Fiber.interrupt(fiber)
    }), 30_000)

  it.live("uses only the fakes' keys, not the user's GOOGLE_API_KEY or numbered keys", () =>
    Effect.gen(function* () {
      const { base, fiber } = yield* startAt({
        GOOGLE_API_KEY: "AIza-user-real-key",
        ANTHROPIC_API_KEY_1: "sk-ant-user-real-key",
        OPENAI_API_KEY_1: "sk-user-real-key"
      })
      const ready = (yield* Effect.promise(() => fetch(`${base}/ready`).then((r) => r.json()))) as {
        providers: ReadonlyArray<{ provider: string; keys?: { total: number } }>
      }
      for (const p of ready.providers.filter((p) => p.keys !== undefined)) {
        assert.strictEqual(p.keys!.total, 1, `${p.provider} has ${p.keys!.total} keys in the demo`)
      }
      yield* Fiber.interrupt(fiber)
    }), 30_000)
})
