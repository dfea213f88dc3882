/**
 * A gateway on real fakes: FakeOpenAi and FakeAnthropic on loopback, a temp
 * config directory pointing at them, SQLite in the same directory, keys from a
 * ConfigProvider map. Everything closes with the test's scope.
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** Two models: gpt-4o-mini (falls back to claude-haiku) and claude-haiku. */
export const models = (overrides: { rpm?: number; tpm?: number } = {}) => ({
  source: "test registry",
  models: [
    {
      id: "gpt-4o-mini",
      provider: "openai",
      providerModel: "gpt-4o-mini",
      displayName: "GPT-4o mini",
      capabilities: ["chat", "tools", "json_mode", "streaming"],
      contextWindow: 128000,
      maxOutputTokens: 16384,
      pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6, cachedInputPerMillion: 0.075 },
      rateLimits: { rpm: overrides.rpm ?? 500, tpm: overrides.tpm ?? 2_000_000 },
      qualityTier: "standard",
      qualityScore: 0.7,
      fallbacks: ["claude-haiku"]
    },
    {
      id: "claude-haiku",
      provider: "anthropic",
      providerModel: "claude-haiku-4-5",
      displayName: "Claude Haiku 4.5",
      capabilities: ["chat", "tools", "streaming"],
      contextWindow: 200000,
      maxOutputTokens: 8192,
      pricing: { inputPerMillion: 1, outputPerMillion: 5, cachedInputPerMillion: 0.1 },
      rateLimits: { rpm: 50, tpm: 50000 },
      qualityTier: "standard",
      qualityScore: 0.72
    }
  ]
})

/** Options of the stack. */
export interface StackOptions {
  readonly gateway?: Record<string, unknown>
  readonly models?: unknown
}

/** Start the fakes and write the config; returns them and the gateway layer. */
export const stack = (options: StackOptions = {}) =>
  Effect.gen(function* () {
    const openai = yield* FakeOpenAi.make()
    const anthropic = yield* FakeAnthropic.make()
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-node-"))),
      (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
    )
    const gateway = {
      database: { filename: path.join(dir, "modelgate.db") },
      providers: {
        openai: { baseUrl: openai.baseUrl, maxRetries: 0, timeoutMs: 5_000 },
        anthropic: { baseUrl: anthropic.url, maxRetries: 0, timeoutMs: 5_000 },
        google: { baseUrl: "http://127.0.0.1:9" },
        ollama: { baseUrl: "http://127.0.0.1:9" }
      },
      healthCheck: { enabled: false },
      records: { flushIntervalMs: 20 },
      failover: { backoffBaseMs: 1, backoffCapMs: 5, queueDeadlineMs: 0 },
      ...options.gateway
    }
    fs.writeFileSync(path.join(dir, "gateway.json"), JSON.stringify(gateway))
    fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify(options.models ?? models()))
    const keys = ConfigProvider.fromMap(
      new Map([
        ["OPENAI_API_KEY", "sk-test-openai"],
        ["ANTHROPIC_API_KEY", FakeAnthropic.defaultApiKey]
      ])
    )
    const layer = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(
      Layer.provide(Layer.setConfigProvider(keys))
    )
    return { openai, anthropic, dir, db: gateway.database.filename, layer }
  })

/** A one-message request. */
export const ask = (content: string, model = "gpt-4o-mini", extra: Partial<ChatRequest> = {}): ChatRequest => ({
  ...extra,
  model,
  messages: [{ role: "user", content }]
})
