/**
 * A gateway's configuration over testkit fakes: FakeOpenAi and FakeAnthropic
 * on loopback, a temp config directory whose `gateway.json` points at them
 * (Google and Ollama at a closed port, SQLite in the same directory), and a
 * ConfigProvider holding the two API keys. The caller builds the gateway on
 * `dir` and `configProvider`; everything closes with the scope.
 */
import { ConfigProvider, Effect, type Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FakeAnthropic from "./FakeAnthropic.js"
import * as FakeOpenAi from "./FakeOpenAi.js"

/** The OpenAI key in `configProvider` (the one FakeOpenAi accepts unless `openAiApiKeys` lists others). */
export const openAiApiKey = "sk-test-openai"

/**
 * The base `gateway.json`: the providers at the fakes' base URLs without retries
 * (Google and Ollama at a closed port), SQLite at `database`, health checks off,
 * records flushed every 20 ms.
 */
export const gatewayConfig = (fakes: { readonly openai: string; readonly anthropic: string }, database: string) => ({
  database: { filename: database },
  providers: {
    openai: { baseUrl: fakes.openai, maxRetries: 0, timeoutMs: 5_000 },
    anthropic: { baseUrl: fakes.anthropic, maxRetries: 0, timeoutMs: 5_000 },
    google: { baseUrl: "http://127.0.0.1:9" },
    ollama: { baseUrl: "http://127.0.0.1:9" }
  },
  healthCheck: { enabled: false },
  records: { flushIntervalMs: 20 }
})

/** Options of `make`. */
export interface FakeStackOptions {
  /** The `models.json` content. */
  readonly models: unknown
  /** Top-level sections of `gateway.json` that replace (or add to) those of `gatewayConfig`. */
  readonly gateway?: Readonly<Record<string, unknown>> | undefined
  /** Extra variables for the ConfigProvider besides the two API keys. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Prefix of the temp directory's name (default `modelgate-fakes-`). */
  readonly prefix?: string | undefined
  /**
   * The OpenAI keys (default `[openAiApiKey]`): FakeOpenAi accepts each, and
   * the ConfigProvider holds them as `OPENAI_API_KEY`, `OPENAI_API_KEY_1`, ...
   */
  readonly openAiApiKeys?: ReadonlyArray<string> | undefined
  /** How FakeAnthropic behaves (its limits, its clock); default its own defaults. */
  readonly anthropic?: FakeAnthropic.FakeAnthropicOptions | undefined
  /** The usage details FakeOpenAi reports (its `usage` option); default none. */
  readonly openAiUsage?: FakeOpenAi.FakeOpenAiOptions["usage"] | undefined
}

/** The running fakes and the configuration written for them. */
export interface FakeStackConfig {
  readonly openai: FakeOpenAi.FakeOpenAi
  readonly anthropic: FakeAnthropic.FakeAnthropic
  /** The config directory, holding `gateway.json` and `models.json`; removed when the scope closes. */
  readonly dir: string
  /** The SQLite file the config names, inside `dir`. */
  readonly db: string
  /** `OPENAI_API_KEY` (and `_1`, `_2`, ...), `ANTHROPIC_API_KEY` (the fake's key) and `options.env`. */
  readonly configProvider: ConfigProvider.ConfigProvider
}

/** Start FakeOpenAi and FakeAnthropic and write a config directory pointing at them. */
export const make = (options: FakeStackOptions): Effect.Effect<FakeStackConfig, never, Scope.Scope> =>
  Effect.gen(function* () {
    const openAiKeys = options.openAiApiKeys ?? [openAiApiKey]
    const openai = yield* FakeOpenAi.make({ apiKeys: openAiKeys, ...(options.openAiUsage !== undefined ? { usage: options.openAiUsage } : {}) })
    const anthropic = yield* FakeAnthropic.make(options.anthropic)
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), options.prefix ?? "modelgate-fakes-"))),
      (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
    )
    const db = path.join(dir, "modelgate.db")
    const gateway = { ...gatewayConfig({ openai: openai.baseUrl, anthropic: anthropic.baseUrl }, db), ...options.gateway }
    yield* Effect.sync(() => {
      fs.writeFileSync(path.join(dir, "gateway.json"), JSON.stringify(gateway))
      fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify(options.models))
    })
    const configProvider = ConfigProvider.fromMap(
      new Map([
        ...openAiKeys.map((key, i) => [i === 0 ? "OPENAI_API_KEY" : `OPENAI_API_KEY_${i}`, key] as const),
        ["ANTHROPIC_API_KEY", FakeAnthropic.defaultApiKey],
        ...Object.entries(options.env ?? {})
      ])
    )
    return { openai, anthropic, dir, db, configProvider }
  })
