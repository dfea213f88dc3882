import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import { GatewayConfig, layer, validate } from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import { ConfigReloaded, type GatewayEvent } from "@modelgate/domain/Events"
import { Chunk, ConfigProvider, Context, Duration, Effect, Layer, Logger, Queue, Schema, Stream } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { hangDetector, writeUntilObserved } from "./FileWatch.js"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const encode = Schema.encodeSync(GatewayConfigData)

/** A temp config directory holding `files` (relative path -> JSON value or raw text). */
const configDir = (files: Record<string, unknown>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-config-" })
    yield* fs.makeDirectory(p.join(dir, "environments"))
    for (const [name, content] of Object.entries(files)) {
      yield* fs.writeFileString(p.join(dir, name), typeof content === "string" ? content : JSON.stringify(content))
    }
    return dir
  })

const withEnv = (env: Record<string, string> = {}) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** Build the live layer (no watcher unless asked) and return the service and the event bus. */
const build = (directory: string, environment?: string, watch = false) =>
  Effect.gen(function* () {
    const ctx = yield* Layer.build(
      layer({ directory, environment, watch, debounce: Duration.millis(50) }).pipe(Layer.provideMerge(Events.layer), Layer.provide(NodeContext.layer))
    )
    return { config: Context.get(ctx, GatewayConfig), events: Context.get(ctx, Events.Events) }
  })

const loadError = (directory: string, environment?: string) =>
  Effect.flip(Effect.flatMap(build(directory, environment), ({ config }) => config.get))

describe("GatewayConfig: loading", () => {
  it.scoped("a directory without gateway.json means the defaults", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({})
      const { config } = yield* build(dir)
      assert.deepStrictEqual(encode(yield* config.get), encode(defaultConfig))
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scoped("a directory that does not exist fails at start, naming the directory (not the defaults, nor models.json later)", () =>
    Effect.gen(function* () {
      const missing = path.join(yield* configDir({}), "nope")
      const error = yield* Effect.flip(build(missing))
      assert.strictEqual(error.file, missing)
      assert.strictEqual(error.message, `invalid configuration in ${missing}: directory not found`)
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scoped("an environment without an overlay file loads gateway.json alone, with a warning naming the missing file", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({ "gateway.json": { server: { port: 9100 } } })
      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
      const { config } = yield* build(dir, "prodution").pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      assert.strictEqual((yield* config.get).server.port, 9100)
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0], `MODELGATE_ENV is "prodution"`)
      assert.include(warnings[0], path.join(dir, "environments", "prodution.json"))
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scoped("the overlay deep-merges over gateway.json, the environment overrides single values", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "gateway.json": { server: { host: "0.0.0.0", port: 9000 }, cache: { ttlMs: 1000, maxEntries: 5 }, providers: { openai: { baseUrl: "https://proxy/v1", timeoutMs: 5 } } },
        "environments/staging.json": { cache: { ttlMs: 2000 }, budgets: { alertThresholds: [0.9] } }
      })
      const { config } = yield* build(dir, "staging")
      const c = yield* config.get
      assert.strictEqual(c.server.host, "0.0.0.0")
      assert.strictEqual(c.server.port, 1234)
      assert.strictEqual(c.cache.ttlMs, 2000)
      assert.strictEqual(c.cache.maxEntries, 5)
      assert.deepStrictEqual(c.budgets.alertThresholds, [0.9])
      assert.strictEqual(c.database.filename, "/var/lib/mg.db")
      assert.strictEqual(c.logLevel, "debug")
      assert.strictEqual(c.providers.openai?.baseUrl, "https://proxy/v1")
      assert.strictEqual(c.providers.openai?.timeoutMs, 5)
      assert.strictEqual(c.providers.anthropic?.baseUrl, "http://fake-anthropic")
      assert.strictEqual(c.providers.google?.baseUrl, "http://fake-google")
      assert.strictEqual(c.providers.ollama?.baseUrl, "http://gpu-box:11434")
    }).pipe(
      withEnv({
        PORT: "1234",
        MODELGATE_DB: "/var/lib/mg.db",
        MODELGATE_LOG_LEVEL: "debug",
        ANTHROPIC_BASE_URL: "http://fake-anthropic",
        GEMINI_BASE_URL: "http://fake-google",
        OLLAMA_HOST: "gpu-box:11434"
      }),
      Effect.provide(NodeContext.layer)
    ))

  it.scoped("OLLAMA_HOST is read as Ollama reads it: port 11434 unless named, 0.0.0.0 (its bind-all address) is this host", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({})
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["127.0.0.1:11434", "http://127.0.0.1:11434"],
        ["http://gpu-box:11434", "http://gpu-box:11434"],
        ["gpu-box", "http://gpu-box:11434"],
        ["0.0.0.0", "http://127.0.0.1:11434"],
        ["0.0.0.0:11500", "http://127.0.0.1:11500"],
        [":11500", "http://127.0.0.1:11500"],
        ["::1", "http://[::1]:11434"],
        ["[::]:11434", "http://[::1]:11434"],
        ["https://ollama.example", "https://ollama.example"],
        [" gpu-box:8080/ ", "http://gpu-box:8080"]
      ]
      for (const [host, baseUrl] of cases) {
        const { config } = yield* build(dir).pipe(withEnv({ OLLAMA_HOST: host }))
        assert.strictEqual((yield* config.get).providers.ollama?.baseUrl, baseUrl, `OLLAMA_HOST=${JSON.stringify(host)}`)
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("an entry of a default provider may leave out its baseUrl: it keeps the default's", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "gateway.json": { providers: { openai: { maxRetries: 5 }, ollama: { maxConcurrency: 2 } } },
        "environments/prod.json": { providers: { anthropic: { timeoutMs: 9000 } } }
      })
      const { config } = yield* build(dir, "prod")
      const c = yield* config.get
      assert.strictEqual(c.providers.openai?.baseUrl, "https://api.openai.com/v1")
      assert.strictEqual(c.providers.openai?.maxRetries, 5)
      assert.strictEqual(c.providers.ollama?.baseUrl, "http://127.0.0.1:11434")
      assert.strictEqual(c.providers.ollama?.timeoutMs, 300_000)
      assert.strictEqual(c.providers.ollama?.maxConcurrency, 2)
      assert.strictEqual(c.providers.anthropic?.baseUrl, "https://api.anthropic.com")
      assert.strictEqual(c.providers.anthropic?.timeoutMs, 9000)
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.effect("the shipped config directory is valid in every environment", () =>
    Effect.gen(function* () {
      const problems = yield* validate(path.join(repoRoot, "config"))
      assert.deepStrictEqual(problems.map((e) => e.message), [])
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))
})

describe("GatewayConfig: invalid configuration is rejected with file, path and reason", () => {
  const cases: ReadonlyArray<{ name: string; files: Record<string, unknown>; env?: Record<string, string>; environment?: string; file: string; path: string; reason: RegExp }> = [
    { name: "bad JSON", files: { "gateway.json": "{ server: " }, file: "gateway.json", path: "", reason: /not valid JSON/ },
    { name: "out of range", files: { "gateway.json": { server: { port: 70000 } } }, file: "gateway.json", path: "server.port", reason: /between 0 and 65535/ },
    { name: "timeout not positive", files: { "gateway.json": { server: { timeouts: { keepAliveMs: 0 } } } }, file: "gateway.json", path: "server.timeouts.keepAliveMs", reason: /positive/ },
    { name: "timeout not an integer", files: { "gateway.json": { server: { timeouts: { requestMs: 1.5 } } } }, file: "gateway.json", path: "server.timeouts.requestMs", reason: /integer/ },
    { name: "headers timeout over the request timeout", files: { "gateway.json": { server: { timeouts: { headersMs: 400_000 } } } }, file: "gateway.json", path: "server.timeouts.headersMs", reason: /must not exceed requestMs \(300000\)/ },
    { name: "negative connection cap", files: { "gateway.json": { server: { maxConnections: -1 } } }, file: "gateway.json", path: "server.maxConnections", reason: /non-negative|>= 0/ },
    { name: "wrong type", files: { "gateway.json": { cache: { enabled: "yes" } } }, file: "gateway.json", path: "cache.enabled", reason: /boolean/ },
    { name: "unknown key (a typo)", files: { "gateway.json": { sever: {} } }, file: "gateway.json", path: "sever", reason: /unexpected/ },
    // README and schema.json: all three weights, when given (the others do not silently stay 0.4 / 0.3).
    { name: "evaluator weights given in part", files: { "gateway.json": { evaluator: { weights: { relevance: 1 } } } }, file: "gateway.json", path: "evaluator.weights.completeness", reason: /missing/ },
    { name: "provider without baseUrl", files: { "gateway.json": { providers: { acme: { timeoutMs: 5 } } } }, file: "gateway.json", path: "providers.acme.baseUrl", reason: /missing/ },
    { name: "bad overlay", files: { "gateway.json": {}, "environments/prod.json": { selection: { weights: { cost: 3 } } } }, environment: "prod", file: "environments/prod.json", path: "selection.weights.cost", reason: /between 0 and 1/ },
    { name: "overlay with bad JSON", files: { "environments/prod.json": "nope" }, environment: "prod", file: "environments/prod.json", path: "", reason: /not valid JSON/ },
    { name: "PORT not an integer", files: {}, env: { PORT: "eighty" }, file: "environment variable PORT", path: "server.port", reason: /^Expected an integer value but received .*eighty/ },
    { name: "PORT out of range", files: {}, env: { PORT: "99999" }, file: "environment variable PORT", path: "server.port", reason: /between 0 and 65535/ },
    { name: "unknown log level", files: {}, env: { MODELGATE_LOG_LEVEL: "loud" }, file: "environment variable MODELGATE_LOG_LEVEL", path: "logLevel", reason: /loud/ }
  ]
  for (const c of cases) {
    it.scoped(c.name, () =>
      Effect.gen(function* () {
        const dir = yield* configDir(c.files)
        const error = yield* loadError(dir, c.environment)
        assert.strictEqual(error._tag, "ConfigError")
        assert.strictEqual(error.file, c.file.startsWith("environment ") ? c.file : path.join(dir, c.file))
        assert.strictEqual(error.path, c.path)
        assert.match(error.reason, c.reason)
      }).pipe(withEnv(c.env), Effect.provide(NodeContext.layer)))
  }

  it.scoped("validate returns every problem of every file", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "gateway.json": { server: { port: -1 }, cache: { ttlMs: 0 } },
        "environments/a.json": { logLevel: "loud" },
        "models.json": { models: [] , extra: 1 }
      })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(
        problems.map((e) => `${path.relative(dir, e.file)}:${e.path}`),
        ["gateway.json:server.port", "gateway.json:cache.ttlMs", "environments/a.json:logLevel", "models.json:extra"]
      )
      yield* FileSystem.FileSystem.pipe(Effect.flatMap((fs) => fs.writeFileString(path.join(dir, "gateway.json"), "{}")))
      const again = yield* validate(dir)
      assert.deepStrictEqual(again.map((e) => `${path.relative(dir, e.file)}:${e.path}`), ["environments/a.json:logLevel", "models.json:extra"])
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scoped("validate lists an overlay's own problems, not the base's again, when gateway.json is invalid", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "gateway.json": { server: { port: "eighty" }, providers: { acme: { baseUrl: "http://acme" } } },
        "environments/prod.json": { server: { host: 7 }, providers: { acme: { timeoutMs: 5 }, beta: { timeoutMs: 5 } } },
        "environments/dev.json": { cache: { enabled: true } },
        "models.json": { models: [] }
      })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(
        problems.map((e) => `${path.relative(dir, e.file)}:${e.path}`),
        ["gateway.json:server.port", "environments/prod.json:server.host", "environments/prod.json:providers.beta.baseUrl"]
      )
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scoped("validate names a missing directory and a missing models.json with their paths", () =>
    Effect.gen(function* () {
      const empty = yield* configDir({})
      const inEmpty = yield* validate(empty)
      assert.deepStrictEqual(inEmpty.map((e) => e.message), [`invalid configuration in ${path.join(empty, "models.json")}: file not found`])
      const missing = path.join(empty, "nope")
      const inMissing = yield* validate(missing)
      assert.deepStrictEqual(inMissing.map((e) => e.message), [
        `invalid configuration in ${missing}: directory not found`,
        `invalid configuration in ${path.join(missing, "models.json")}: file not found`
      ])
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))
})

/**
 * Record every event from now on. Returns once the subscription is live (a
 * probe event has come through), so no later event can be missed.
 */
const record = (events: Events.Events["Type"]) =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<GatewayEvent>()
    yield* events.subscribe.pipe(Stream.runForEach((e) => Queue.offer(queue, e)), Effect.forkScoped)
    const probe = ConfigReloaded.make({ at: 0, source: "probe" })
    yield* events.publish(probe).pipe(
      Effect.zipRight(Effect.yieldNow()),
      Effect.zipRight(Queue.takeAll(queue)),
      Effect.repeat({ until: (taken) => Chunk.some(taken, (e) => e === probe) })
    )
    /** The next event with this tag (events of other tags are skipped), waiting for it. */
    const first = <A extends GatewayEvent["_tag"]>(tag: A) =>
      Queue.take(queue).pipe(
        Effect.repeat({ until: (e) => e._tag === tag }),
        Effect.map((e) => e as Extract<GatewayEvent, { _tag: A }>)
      )
    /** Every event published before now (a marker published now, then everything up to it). */
    const upToNow = Effect.gen(function* () {
      const marker = ConfigReloaded.make({ at: 0, source: "marker" })
      yield* events.publish(marker)
      const heard: Array<GatewayEvent> = []
      for (let e = yield* Queue.take(queue); e !== marker; e = yield* Queue.take(queue)) heard.push(e)
      return heard
    })
    return { first, upToNow }
  })

describe("GatewayConfig: reload", () => {
  it.scoped("applies a valid change (ConfigReloaded); keeps the running config on a bad one (ConfigRejected)", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* configDir({ "gateway.json": { server: { port: 1000 } } })
      const file = path.join(dir, "gateway.json")
      const { config, events } = yield* build(dir)

      const recorder = yield* record(events)
      yield* fs.writeFileString(file, JSON.stringify({ server: { port: 2000 } }))
      assert.strictEqual((yield* config.reload).server.port, 2000)
      assert.strictEqual((yield* recorder.first("ConfigReloaded")).source, dir)

      yield* fs.writeFileString(file, JSON.stringify({ server: { port: "two thousand" } }))
      const error = yield* Effect.flip(config.reload)
      assert.strictEqual(error.path, "server.port")
      const event = yield* recorder.first("ConfigRejected")
      assert.strictEqual(event.file, file)
      assert.include(event.reason, "server.port")
      assert.strictEqual((yield* config.get).server.port, 2000)
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scoped("a reload of unchanged files (rewritten, same meaning) applies nothing: the same value, no ConfigReloaded", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* configDir({ "gateway.json": { server: { port: 1000 } } })
      const file = path.join(dir, "gateway.json")
      const { config, events } = yield* build(dir)
      const running = yield* config.get

      const recorder = yield* record(events)
      yield* fs.writeFileString(file, JSON.stringify({ server: { port: 1000, host: defaultConfig.server.host } }, null, 2))
      assert.strictEqual(yield* config.reload, running)
      assert.deepStrictEqual((yield* recorder.upToNow).map((e) => e._tag), [])

      yield* fs.writeFileString(file, JSON.stringify({ server: { port: 1001 } }))
      assert.strictEqual((yield* config.reload).server.port, 1001)
      assert.deepStrictEqual((yield* recorder.upToNow).map((e) => e._tag), ["ConfigReloaded"])
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scopedLive("the watcher applies file changes and ignores bad ones", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* configDir({ "gateway.json": { server: { port: 1000 } } })
      const file = path.join(dir, "gateway.json")
      const { config, events } = yield* build(dir, "dev", true)
      const hasPort = (port: number) =>
        config.changes.pipe(Stream.filter((c) => c.server.port === port), Stream.runHead, Effect.flatten)

      // The watcher starts in the background with no readiness signal: a write before it is live goes unseen.
      // So the first change is written again until it is applied; from then on the watcher is live.
      yield* writeUntilObserved(file, JSON.stringify({ server: { port: 3000 } }), hasPort(3000), "gateway.json port 3000 applied by the watcher")
      yield* fs.writeFileString(path.join(dir, "environments", "dev.json"), JSON.stringify({ server: { port: 3001 } }))
      yield* hangDetector(hasPort(3001), "environments/dev.json port 3001 applied by the watcher")

      const recorder = yield* record(events) // from here on: the next ConfigRejected is the broken file's
      yield* fs.writeFileString(file, "{ broken")
      const event = yield* hangDetector(recorder.first("ConfigRejected"), "the broken gateway.json rejected by the watcher")
      assert.strictEqual(event.file, file)
      assert.strictEqual((yield* config.get).server.port, 3001)
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))
})
