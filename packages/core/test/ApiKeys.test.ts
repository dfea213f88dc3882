import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ApiKeys, dotEnvConfigProvider, layerConfig, layerStatic } from "@modelgate/core/ApiKeys"
import { ConfigProvider, Effect, FastCheck as fc, Layer, Logger, Redacted } from "effect"
import { createHash } from "node:crypto"

const fromEnv = (env: Record<string, string>) =>
  layerConfig().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))

/** Run `self`, returning its result and every log line (message and cause). */
const captureLogs = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
      lines.push(`${logLevel.label} ${JSON.stringify(message)} ${String(cause)} ${JSON.stringify(annotations)}`)
    })
    const result = yield* self.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return { result, lines }
  })

describe("ApiKeys: reading keys from Config", () => {
  it.effect("a key with spaces or a line end around it is used trimmed (and is the same key as without)", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      assert.strictEqual(Redacted.value((yield* keys.next("openai")).value), "sk-line-end")
      assert.deepStrictEqual((yield* keys.status).find((s) => s.provider === "openai")?.total, 1)
    }).pipe(Effect.provide(fromEnv({ OPENAI_API_KEY: "sk-line-end\n", OPENAI_API_KEY_1: "  sk-line-end" }))))

  it.effect("reads NAME and NAME_1..n up to the first gap, GEMINI and GOOGLE for google, skips blanks and duplicates", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      const ids = (provider: string, n: number) => Effect.forEach(Array.from({ length: n }), () => Effect.map(keys.next(provider), (k) => k.id))
      assert.deepStrictEqual(yield* ids("openai", 4), ["openai#0", "openai#1", "openai#2", "openai#0"])
      assert.deepStrictEqual(
        (yield* Effect.forEach([1, 2, 3], () => keys.next("anthropic"))).map((k) => Redacted.value(k.value)),
        ["ant-1", "ant-1", "ant-1"]
      )
      assert.deepStrictEqual(
        (yield* Effect.forEach([1, 2, 3], () => keys.next("google"))).map((k) => Redacted.value(k.value)),
        ["gem-0", "goo-0", "gem-0"]
      )
      const status = yield* keys.status
      assert.deepStrictEqual(status.map((s) => [s.provider, s.total]), [["openai", 3], ["anthropic", 1], ["google", 2]])
    }).pipe(
      Effect.provide(
        fromEnv({
          OPENAI_API_KEY: "sk-0",
          OPENAI_API_KEY_1: "sk-1",
          OPENAI_API_KEY_2: "sk-2",
          OPENAI_API_KEY_4: "sk-4-after-a-gap",
          ANTHROPIC_API_KEY: "  ",
          ANTHROPIC_API_KEY_1: "ant-1",
          GEMINI_API_KEY: "gem-0",
          GOOGLE_API_KEY: "goo-0",
          GOOGLE_API_KEY_1: "gem-0"
        })
      )
    ))

  it.scoped("reads a .env file, the environment winning over it", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-env-" })
      const file = path.join(dir, ".env")
      yield* fs.writeFileString(file, "OPENAI_API_KEY=from-dotenv\nANTHROPIC_API_KEY=ant-dotenv\n")
      const live = layerConfig().pipe(
        Layer.provide(dotEnvConfigProvider(file)),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", "from-env"]]))))
      )
      const keys = yield* Effect.provide(ApiKeys, live)
      assert.strictEqual(Redacted.value((yield* keys.next("openai")).value), "from-env")
      assert.strictEqual(Redacted.value((yield* keys.next("anthropic")).value), "ant-dotenv")
      const missing = yield* Effect.provide(ApiKeys, layerConfig().pipe(Layer.provide(dotEnvConfigProvider(path.join(dir, "absent")))))
      assert.isFalse(yield* missing.hasKey("anthropic"))
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("ApiKeys: rotation", () => {
  it.effect.prop(
    "hands keys out round robin, never a key set aside, each usable key once per cycle",
    {
      n: fc.integer({ min: 1, max: 6 }),
      calls: fc.integer({ min: 0, max: 40 }),
      aside: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }),
      asideAfter: fc.integer({ min: 0, max: 20 })
    },
    ({ aside, asideAfter, calls, n }) =>
      Effect.gen(function* () {
        const keys = yield* ApiKeys
        const before = yield* Effect.forEach(Array.from({ length: Math.min(calls, asideAfter) }), () => Effect.map(keys.next("openai"), (k) => k.id))
        assert.deepStrictEqual(before, before.map((_, i) => `openai#${i % n}`))

        const setAside = aside.filter((i) => i < n).map((i) => `openai#${i}`)
        yield* Effect.forEach(setAside, (id) => keys.setAside("openai", id, "401 Unauthorized"))
        const usable = Array.from({ length: n }, (_, i) => `openai#${i}`).filter((id) => !setAside.includes(id))
        const rest = Math.max(0, calls - asideAfter)
        if (usable.length === 0) {
          const error = yield* Effect.flip(keys.next("openai"))
          assert.strictEqual(error._tag, "MissingApiKey")
          assert.include(error.reason, "set aside")
          assert.isFalse(yield* keys.hasKey("openai"))
          return
        }
        const after = yield* Effect.forEach(Array.from({ length: rest }), () => Effect.map(keys.next("openai"), (k) => k.id))
        for (const id of after) assert.include(usable, id)
        for (let start = 0; start + usable.length <= after.length; start++) {
          assert.deepStrictEqual([...after.slice(start, start + usable.length)].sort(), [...usable].sort())
        }
        const status = (yield* keys.status).find((s) => s.provider === "openai")
        const index = (id: string) => Number(id.split("#")[1])
        assert.deepStrictEqual(status?.setAside.map((s) => s.id), [...setAside].sort((a, b) => index(a) - index(b)))
        assert.strictEqual(status?.usable, usable.length)
      }).pipe(Effect.provide(layerStatic({ openai: Array.from({ length: n }, (_, i) => `sk-secret-${i}`) }))),
    { fastCheck: { numRuns: 200 } }
  )

  it.effect("rotation is per provider", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      const seq = yield* Effect.forEach(["openai", "google", "openai", "google", "openai"], (p) => Effect.map(keys.next(p), (k) => k.id))
      assert.deepStrictEqual(seq, ["openai#0", "google#0", "openai#1", "google#1", "openai#0"])
    }).pipe(Effect.provide(layerStatic({ openai: ["a", "b"], google: ["c", "d"] }))))

  it.effect("inTurn gives every usable key once, from the round robin's next key, and takes one turn of it", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      const ids = (p: string) => Effect.map(keys.inTurn!(p), (all) => all.map((k) => k.id))
      assert.deepStrictEqual(yield* ids("openai"), ["openai#0", "openai#1", "openai#2"])
      assert.deepStrictEqual(yield* ids("openai"), ["openai#1", "openai#2", "openai#0"])
      assert.strictEqual((yield* keys.next("openai")).id, "openai#2")
      yield* keys.setAside("openai", "openai#1", "401")
      assert.deepStrictEqual(yield* ids("openai"), ["openai#2", "openai#0"])
      assert.strictEqual((yield* Effect.flip(keys.inTurn!("anthropic")))._tag, "MissingApiKey")
    }).pipe(Effect.provide(layerStatic({ openai: ["a", "b", "c"] }))))

  it.effect("usableIds lists a provider's key ids without those set aside (none for a provider without keys)", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      assert.deepStrictEqual(keys.usableIds?.("openai"), ["openai#0", "openai#1", "openai#2"])
      yield* keys.setAside("openai", "openai#1", "401")
      assert.deepStrictEqual(keys.usableIds?.("openai"), ["openai#0", "openai#2"])
      assert.deepStrictEqual(keys.usableIds?.("ollama"), [])
    }).pipe(Effect.provide(layerStatic({ openai: ["a", "b", "c"] }))))
})

describe("ApiKeys: missing keys", () => {
  it.effect("next fails with MissingApiKey naming the provider and what to set", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      const error = yield* Effect.flip(keys.next("anthropic"))
      assert.strictEqual(error.provider, "anthropic")
      assert.include(error.message, "anthropic")
      assert.include(error.reason, "ANTHROPIC_API_KEY")
      const google = yield* Effect.flip(keys.next("google"))
      assert.include(google.reason, "GEMINI_API_KEY or GOOGLE_API_KEY")
      assert.isFalse(yield* keys.hasKey("anthropic"))
      assert.isTrue(yield* keys.hasKey("openai"))
    }).pipe(Effect.provide(fromEnv({ OPENAI_API_KEY: "sk-x" }))))

  it.effect("validate logs exactly one warning per provider without a usable key, none for ollama, and never fails", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      yield* keys.setAside("openai", "openai#0", "403 Forbidden")
      const { lines } = yield* captureLogs(keys.validate(["openai", "anthropic", "google", "ollama", "anthropic"]))
      const warnings = lines.filter((l) => l.startsWith("WARN"))
      assert.strictEqual(warnings.length, 3)
      const fingerprint = `openai~${createHash("sha256").update("sk-x").digest("hex").slice(0, 16)}`
      assert.include(warnings[0], `no usable API key for openai: all 1 key(s) set aside: openai#0 (${fingerprint}: 403 Forbidden)`)
      assert.include(warnings[1], "no usable API key for anthropic: no key configured (set ANTHROPIC_API_KEY)")
      assert.include(warnings[2], "no usable API key for google")
      const second = yield* captureLogs(keys.validate(["openai"]))
      assert.strictEqual(second.lines.filter((l) => l.startsWith("WARN")).length, 1)
      assert.include(second.lines[0], `openai#0 (${fingerprint}: 403 Forbidden)`)
    }).pipe(Effect.provide(layerStatic({ openai: ["sk-x"] }))))
})

describe("ApiKeys: a key set aside is named as cost records name it", () => {
  it.effect("its warning and its status give its position and its fingerprint (`/admin/costs?by=key`), never the key", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      const fingerprint = `openai~${createHash("sha256").update("sk-second").digest("hex").slice(0, 16)}`
      assert.strictEqual(keys.sharedIds?.get("openai#1"), fingerprint)
      const { lines } = yield* captureLogs(keys.setAside("openai", "openai#1", "401 Unauthorized"))
      const warning = lines.find((l) => l.startsWith("WARN"))
      assert.include(warning, "openai#1")
      assert.include(warning, fingerprint)
      const status = (yield* keys.status).find((s) => s.provider === "openai")
      assert.deepStrictEqual(status?.setAside, [{ id: "openai#1", fingerprint, reason: "401 Unauthorized" }])
      assert.notInclude(`${lines.join("\n")}${JSON.stringify(status)}`, "sk-second")
    }).pipe(Effect.provide(layerStatic({ openai: ["sk-first", "sk-second"] }))))
})

describe("ApiKeys: keys never leak", () => {
  const secrets = ["sk-live-AAAA1111", "sk-live-BBBB2222", "ant-live-CCCC3333"]
  it.effect("no key value appears in logs, errors, status or serialised keys", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      const { lines, result } = yield* captureLogs(
        Effect.gen(function* () {
          const handed = yield* Effect.forEach([1, 2, 3], () => keys.next("openai"))
          yield* Effect.log("handed out", handed[0])
          yield* Effect.logInfo(handed.map((k) => k.value))
          yield* keys.setAside("openai", "openai#0", "401 Unauthorized")
          yield* keys.setAside("openai", "openai#1", "401 Unauthorized")
          yield* keys.setAside("anthropic", "anthropic#0", "403 Forbidden")
          const error = yield* Effect.flip(keys.next("openai"))
          yield* Effect.logError("request failed", error)
          yield* keys.validate(["openai", "anthropic", "google"])
          const status = yield* keys.status
          return [JSON.stringify(status), JSON.stringify(error), error.message, String(error), JSON.stringify(handed), String(handed[0]?.value), `${handed[1]?.value}`]
        })
      )
      const everything = [...lines, ...result].join("\n")
      assert.isAbove(lines.length, 3)
      for (const secret of secrets) assert.notInclude(everything, secret)
      assert.include(everything, "openai#0")
    }).pipe(Effect.provide(fromEnv({ OPENAI_API_KEY: secrets[0]!, OPENAI_API_KEY_1: secrets[1]!, ANTHROPIC_API_KEY: secrets[2]! }))))
})
