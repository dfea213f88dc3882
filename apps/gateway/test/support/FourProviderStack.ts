/**
 * The HTTP app on GatewayLive over all four fakes (OpenAI,
 * Anthropic, Gemini, Ollama), one model per provider, SQLite in a temp dir.
 */
import { HttpServer } from "@effect/platform"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import Database from "better-sqlite3"
import { Clock, ConfigProvider, Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as HttpApp from "../../src/HttpApp.js"

const model = (id: string, provider: string, providerModel: string, fallbacks: ReadonlyArray<string> = []) => ({
  id,
  provider,
  providerModel,
  displayName: id,
  qualityTier: "standard",
  capabilities: ["chat", "streaming", "tools"],
  contextWindow: 128000,
  maxOutputTokens: 4096,
  pricing: { inputPerMillion: 1, outputPerMillion: 4 },
  rateLimits: { rpm: 1000, tpm: 10_000_000 },
  qualityScore: 0.7,
  fallbacks
})

export const registry = {
  source: "four-provider-stack",
  models: [
    model("gpt", "openai", "gpt-4o-mini", ["llama"]),
    model("claude", "anthropic", "claude-haiku-4-5", ["llama"]),
    model("gemini", "google", "gemini-2.5-flash", ["llama"]),
    model("llama", "ollama", "llama3.2")
  ]
}

export const serveAll = (
  gatewayExtra: Record<string, unknown> = {},
  urls: { openai?: string; anthropic?: string; google?: string; ollama?: string } = {},
  env: Record<string, string> = {}
) =>
  Effect.gen(function* () {
    const openai = yield* FakeOpenAi.make()
    const anthropic = yield* FakeAnthropic.make()
    const google = yield* FakeGoogle.make()
    const ollama = yield* FakeOllama.make()
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-four-"))),
      (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
    )
    const db = path.join(dir, "modelgate.db")
    const gateway = {
      database: { filename: db },
      providers: {
        openai: { baseUrl: urls.openai ?? openai.baseUrl, maxRetries: 0, timeoutMs: 5_000 },
        anthropic: { baseUrl: urls.anthropic ?? anthropic.baseUrl, maxRetries: 0, timeoutMs: 5_000 },
        google: { baseUrl: urls.google ?? google.baseUrl, maxRetries: 0, timeoutMs: 5_000 },
        ollama: { baseUrl: urls.ollama ?? ollama.url, maxRetries: 0, timeoutMs: 5_000 }
      },
      healthCheck: { enabled: false },
      records: { flushIntervalMs: 20 },
      cache: { enabled: false },
      failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 },
      ...gatewayExtra
    }
    fs.writeFileSync(path.join(dir, "gateway.json"), JSON.stringify(gateway))
    fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify(registry))
    const configProvider = ConfigProvider.fromMap(
      new Map([
        ["OPENAI_API_KEY", "sk-test-openai"],
        ["ANTHROPIC_API_KEY", FakeAnthropic.defaultApiKey],
        ["GEMINI_API_KEY", FakeGoogle.defaultApiKey],
        ...Object.entries(env)
      ])
    )
    const live = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(Layer.provide(Layer.setConfigProvider(configProvider)))
    const context = yield* Layer.build(HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(live)))
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return { openai, anthropic, google, ollama, db, url: `http://127.0.0.1:${port}` }
  })

export const rows = <A>(db: string, sql: string): Array<A> => {
  const conn = new Database(db, { readonly: true })
  try {
    return conn.prepare(sql).all() as Array<A>
  } finally {
    conn.close()
  }
}

const live = Clock.make()

/** Poll in real time until `f` holds (records are flushed every 20 ms). */
export const waitUntil = <A>(f: () => A, ok: (a: A) => boolean, ms = 3_000) =>
  Effect.gen(function* () {
    const end = live.unsafeCurrentTimeMillis() + ms
    while (true) {
      const a = f()
      if (ok(a) || live.unsafeCurrentTimeMillis() > end) return a
      yield* Effect.sleep(10).pipe(Effect.withClock(live))
    }
  })

export const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body)
    }).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }))
  )

/** The `data:` payloads of an SSE body. */
export const events = (text: string) => text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6))

