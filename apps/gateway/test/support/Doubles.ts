/**
 * Test doubles of the services the HTTP app reads, and a server over a real
 * socket (port 0) built from them.
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { ApiKeys } from "@modelgate/core/ApiKeys"
import { CostGroup, type CostQuery } from "@modelgate/core/CostStore"
import { CostTracker } from "@modelgate/core/CostTracker"
import * as EventsBus from "@modelgate/core/Events"
import { type AnswerMeta, Gateway } from "@modelgate/core/Gateway"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { AuthConfig, defaultConfig, GatewayConfigData, ServerConfig, ServerTimeouts, VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { HealthChecker, type ModelHealth } from "@modelgate/core/HealthChecker"
import { Metrics, type MetricsFilter, MetricsSnapshot, type MetricsSummary } from "@modelgate/core/Metrics"
import * as ModelRegistry from "@modelgate/core/ModelRegistry"
import { ModelSelector, type ScoredModel } from "@modelgate/core/ModelSelector"
import { type Provider, Providers } from "@modelgate/core/Provider"
import type { ChatChunk, ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import { ModelNotFound } from "@modelgate/domain/Errors"
import { ModelMetadata, Pricing, RateLimits } from "@modelgate/domain/Model"
import { ConfigProvider, Deferred, Effect, Layer, Stream } from "effect"
import * as Http from "node:http"
import * as HttpApp from "../../src/HttpApp.js"

/**
 * A double implementing only what the HTTP layer reads: the service contracts
 * grow while other engineers implement them, and a member a test did not
 * expect to be used is `undefined` (the test fails loudly if it is called).
 */
export const partial = <S>(impl: Partial<S>): S => impl as S

const model = (id: string, provider: string, capabilities: ReadonlyArray<string>, price: number) =>
  ModelMetadata.make({
    id: id as ModelMetadata["id"],
    provider: provider as ModelMetadata["provider"],
    providerModel: id,
    displayName: id.toUpperCase(),
    capabilities: capabilities as ModelMetadata["capabilities"],
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    pricing: Pricing.make({ inputPerMillion: price, outputPerMillion: price * 4 }),
    rateLimits: RateLimits.make({ rpm: 100, tpm: 100_000 }),
    qualityTier: "standard",
    qualityScore: 0.8,
    enabled: true,
    fallbacks: [],
    tags: []
  })

/** Two models of two providers. */
export const models: ReadonlyArray<ModelMetadata> = [
  model("gpt-test", "openai", ["chat", "tools", "streaming"], 0.15),
  model("claude-test", "anthropic", ["chat", "streaming", "vision"], 3)
]

/** The metadata every canned answer carries. */
export const meta = (requestId: string | undefined, overrides: Partial<AnswerMeta> = {}): AnswerMeta => ({
  requestId: requestId ?? "none",
  model: "gpt-test",
  provider: "openai",
  cacheHit: false,
  failovers: 0,
  costUsd: 0.0000015,
  ...overrides
})

/** An OpenAI chat response with `content`. */
export const response = (content: string, extra: Partial<ChatResponse["choices"][0]["message"]> = {}): ChatResponse => ({
  id: "chatcmpl-test",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-test",
  choices: [{ index: 0, message: { role: "assistant", content, ...extra }, finish_reason: extra.tool_calls ? "tool_calls" : "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }
})

/** A streamed chunk carrying `content` (or the final usage chunk when `content` is undefined). */
export const chunk = (content: string | undefined, finish = false): ChatChunk =>
  content === undefined
    ? {
      id: "chatcmpl-test",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: "gpt-test",
      choices: [],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }
    }
    : {
      id: "chatcmpl-test",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: "gpt-test",
      choices: [{ index: 0, delta: { content }, finish_reason: finish ? "stop" : null }]
    }

/** A gateway that echoes the last user message; `ModelNotFound` for a model named `missing`. */
export const echoGateway: Gateway["Type"] = Gateway.of({
  complete: (request, _requirements, options) =>
    request.model === "missing"
      ? Effect.fail(new ModelNotFound({ modelId: request.model }))
      : Effect.succeed({ response: response(`echo: ${lastText(request)}`), meta: meta(options?.requestId) }),
  stream: (request, _requirements, options) =>
    Effect.succeed({
      meta: meta(options?.requestId, { costUsd: undefined }),
      chunks: Stream.make(chunk("echo: "), chunk(lastText(request), true), chunk(undefined))
    })
})

/** A gateway whose answers wait for `release`; `started` completes when a request arrives (streams echo). */
export const heldGateway = (started: Deferred.Deferred<void>, release: Deferred.Deferred<void>): Gateway["Type"] =>
  Gateway.of({
    complete: (_request, _r, options) =>
      Deferred.succeed(started, undefined).pipe(
        Effect.zipRight(Deferred.await(release)),
        Effect.as({ response: response("finished"), meta: meta(options?.requestId) })
      ),
    stream: echoGateway.stream
  })

/** The text of the last message. */
export const lastText = (request: ChatRequest): string => {
  const last = request.messages[request.messages.length - 1]!
  return typeof last.content === "string" ? last.content : JSON.stringify(last.content)
}

/** Health: every model available, except those listed. */
export const healthLayer = (unavailable: ReadonlyArray<string> = []) => {
  const status = (m: string): ModelHealth => ({
    model: m,
    status: unavailable.includes(m) ? "unavailable" : "available",
    consecutiveFailures: unavailable.includes(m) ? 3 : 0,
    lastCheckedAt: 1_700_000_000_000,
    lastLatencyMs: 120,
    reason: unavailable.includes(m) ? "3 probes failed" : "probe ok"
  })
  return Layer.succeed(
    HealthChecker,
    partial<HealthChecker["Type"]>({
      status: (m) => Effect.succeed(status(m)),
      isAvailable: (m) => Effect.succeed(!unavailable.includes(m)),
      all: Effect.succeed(models.map((m) => status(m.id))),
      changes: Stream.empty,
      reportSuccess: () => Effect.void,
      reportFailure: () => Effect.void
    })
  )
}

/** Keys for the listed providers only. */
export const keysLayer = (withKeys: ReadonlyArray<string> = ["openai", "anthropic"]) =>
  Layer.succeed(
    ApiKeys,
    partial<ApiKeys["Type"]>({
      next: () => Effect.die("not used by the HTTP layer"),
      hasKey: (p) => Effect.succeed(withKeys.includes(p)),
      setAside: () => Effect.void,
      status: Effect.succeed(
        ["openai", "anthropic"].map((p) => ({ provider: p, total: withKeys.includes(p) ? 1 : 0, usable: withKeys.includes(p) ? 1 : 0, setAside: [] }))
      ),
      validate: () => Effect.void
    })
  )

const scored = (m: ModelMetadata, score: number): ScoredModel => ({
  model: m,
  score,
  parts: { capability: 1, cost: score, performance: 0.5, availability: 1 },
  weights: { capability: 0.3, cost: 0.25, performance: 0.25, availability: 0.2 },
  explanation: [`${m.id} scored ${score}`]
})

/** A selector ranking the models in order, excluding any not in `only`. */
export const selectorLayer = Layer.succeed(
  ModelSelector,
  partial<ModelSelector["Type"]>({
    rank: (input) =>
      Effect.succeed({
        ranked: models.filter((m) => input.only === undefined || input.only.includes(m.id)).map((m, i) => scored(m, 0.9 - i / 10)),
        excluded: models.filter((m) => input.only !== undefined && !input.only.includes(m.id)).map((m) => ({ model: m.id, reason: "not requested" }))
      }),
    select: () => Effect.succeed(scored(models[0]!, 0.9))
  })
)

/** The last queries the metrics and cost doubles received. */
export const seen: { metrics: MetricsFilter | undefined; costs: CostQuery | undefined } = { metrics: undefined, costs: undefined }

/** Costs: two groups whatever the query (recorded in `seen.costs`), one daily budget half spent. */
export const costLayer = Layer.succeed(
  CostTracker,
  partial<CostTracker["Type"]>({
    costs: (query) =>
      Effect.sync(() => {
        seen.costs = query
        return [
          CostGroup.make({ key: "gpt-test", costPicoUsd: 1_500_000n, requests: 2, cacheHits: 1, promptTokens: 10, completionTokens: 4, cachedTokens: 0, reasoningTokens: 3 }),
          CostGroup.make({ key: "claude-test", costPicoUsd: 3_000_000_000n, requests: 1, cacheHits: 0, promptTokens: 100, completionTokens: 50, cachedTokens: 20, cacheWriteTokens: 40 })
        ]
      }),
    budgetStatus: Effect.succeed([
      { budget: "global", period: "daily" as const, periodStart: 0, periodEnd: 86_400_000, limitPicoUsd: 2_000_000_000_000n, spentPicoUsd: 1_000_000_000_000n, reservedPicoUsd: 0n }
    ])
  })
)

const summary = (requests: number): MetricsSummary => ({
  requests,
  successes: requests,
  errors: 0,
  errorsByClass: {},
  answered: requests,
  cacheHits: 0,
  cacheHitRate: 0,
  costPicoUsd: 1_500_000n,
  costUsd: 0.0000015,
  promptTokens: 10,
  completionTokens: 4,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  totalTokens: 14,
  latencyMs: { p50: 100, p95: 200, p99: 250, mean: 120, max: 260 },
  failovers: 0,
  availability: 1,
  errorRate: 0,
  costPer1kTokensUsd: null,
  costPerSuccessUsd: null,
  tokensPerSecond: null
})

/** Metrics: fixed Prometheus text and a snapshot echoing the filter (recorded in `seen.metrics`). */
export const metricsLayer = Layer.succeed(
  Metrics,
  partial<Metrics["Type"]>({
    prometheus: Effect.succeed("# TYPE modelgate_requests_total counter\nmodelgate_requests_total{model=\"gpt-test\"} 2\n"),
    query: (filter) =>
      Effect.sync(() => {
        seen.metrics = filter
        return MetricsSnapshot.make({
          generatedAt: 1_700_000_000_000,
          source: "store",
          filter,
          totals: summary(2),
          models: [{ model: "gpt-test", provider: "openai", metrics: summary(2) }]
        })
      })
  })
)

/** Options of a test server. */
export interface ServerOptions {
  readonly masterKey?: string
  /** `auth.virtualKeys` of the running configuration. */
  readonly virtualKeys?: ReadonlyArray<ConstructorParameters<typeof VirtualKey>[0]>
  readonly maxBodyBytes?: number
  readonly shutdownGraceMs?: number
  readonly unavailable?: ReadonlyArray<string>
  readonly withKeys?: ReadonlyArray<string>
  /** With it, a `Providers` table of the models' providers in which these need no key (as Ollama); without it, no table. */
  readonly keyless?: ReadonlyArray<string>
  /** `server.maxConnections` of the running configuration (default: the default's). */
  readonly maxConnections?: number
  /** `server.timeouts` of the running configuration (each unset one: the default's). */
  readonly timeouts?: Partial<ConstructorParameters<typeof ServerTimeouts>[0]>
  /** `server.cors` of the running configuration (default: none). */
  readonly cors?: ReadonlyArray<string>
  /** `server.sseKeepAliveMs` of the running configuration (default: the default's). */
  readonly sseKeepAliveMs?: number | undefined
  /** `logLevel` of the running configuration (default: the default's). */
  readonly logLevel?: GatewayConfigData["logLevel"]
}

/** Every service the app reads, with `gateway` as the Gateway. */
export const services = (gateway: Gateway["Type"], options: ServerOptions = {}) =>
  Layer.mergeAll(
    Layer.succeed(Gateway, gateway),
    GatewayConfig.layerStatic(
      GatewayConfigData.make({
        ...defaultConfig,
        logLevel: options.logLevel ?? defaultConfig.logLevel,
        auth: AuthConfig.make({ virtualKeys: (options.virtualKeys ?? []).map((k) => VirtualKey.make(k)) }),
        server: ServerConfig.make({
          maxBodyBytes: options.maxBodyBytes ?? defaultConfig.server.maxBodyBytes,
          shutdownGraceMs: options.shutdownGraceMs ?? defaultConfig.server.shutdownGraceMs,
          cors: options.cors ?? defaultConfig.server.cors,
          maxConnections: options.maxConnections ?? defaultConfig.server.maxConnections,
          sseKeepAliveMs: options.sseKeepAliveMs ?? defaultConfig.server.sseKeepAliveMs,
          timeouts: ServerTimeouts.make({ ...defaultConfig.server.timeouts, ...options.timeouts })
        })
      })
    ),
    ModelRegistry.layerMemory(models),
    healthLayer(options.unavailable),
    keysLayer(options.withKeys),
    selectorLayer,
    costLayer,
    metricsLayer,
    Layer.fresh(EventsBus.layer),
    options.keyless === undefined ? Layer.empty : providersLayer(options.keyless)
  )

/** Adapters of the models' providers that are never called, only asked whether they need a key. */
const providersLayer = (keyless: ReadonlyArray<string>) =>
  Layer.succeed(
    Providers,
    Providers.fromList(
      [...new Set(models.map((m) => m.provider))].map((id): Provider => ({
        id,
        requiresKey: !keyless.includes(id),
        chat: () => Effect.dieMessage("not called"),
        stream: () => Effect.dieMessage("not called"),
        probe: () => Effect.dieMessage("not called")
      }))
    )
  )

/**
 * The app on a real socket (port 0), with the services exposed so a test can
 * publish events; `MODELGATE_MASTER_KEY` comes from `options.masterKey` only.
 */
export const serverLayer = (gateway: Gateway["Type"], options: ServerOptions = {}) =>
  // Fresh: `it.layer` memoizes layers by reference across blocks, and each block needs its own server.
  Layer.fresh(HttpApp.layer).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(services(gateway, options)),
    Layer.provide(
      Layer.setConfigProvider(
        ConfigProvider.fromMap(new Map(options.masterKey === undefined ? [] : [["MODELGATE_MASTER_KEY", options.masterKey]]))
      )
    )
  )

/** The base URL of the running test server. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  return address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : "http://unix"
})
