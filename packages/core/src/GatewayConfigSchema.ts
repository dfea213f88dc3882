/**
 * The Schema of `config/gateway.json`. Every field has a default, so an empty
 * object is a valid configuration.
 */
import { Label } from "@modelgate/domain/Requirements"
import { Schema } from "effect"

const Positive = Schema.Number.pipe(Schema.finite(), Schema.positive())
const PositiveInt = Schema.Int.pipe(Schema.positive())
const Fraction = Schema.Number.pipe(Schema.between(0, 1))
/** A time in ms, 0 or more: finite (JSON reads 1e999 as Infinity, a wait without end). */
const NonNegativeMs = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const withDefault = <A, I, R>(schema: Schema.Schema<A, I, R>, value: () => NoInfer<A>) =>
  Schema.optionalWith(schema, { default: value })

/**
 * How long the HTTP server waits on a client (Node's timeouts): for a
 * request's headers, for the whole request (headers and body; not the answer,
 * so a long stream is never cut), and on an idle keep-alive connection. A
 * client past them (a slowloris, a stalled upload) is answered 408 and closed.
 */
export class ServerTimeouts extends Schema.Class<ServerTimeouts>("ServerTimeouts")(
  Schema.Struct({
    headersMs: withDefault(PositiveInt, () => 60_000),
    requestMs: withDefault(PositiveInt, () => 300_000),
    keepAliveMs: withDefault(PositiveInt, () => 5_000),
    /**
     * A connection whose client stopped reading (it never closes, its bytes
     * pending) is closed once it took none of them for this long: its request
     * ends as if the client had left (a stream's upstream closed, the call
     * settled and recorded).
     */
    writeStallMs: withDefault(PositiveInt, () => 60_000)
  }).pipe(
    // Node refuses to start with a headers timeout longer than the request timeout.
    Schema.filter((t) =>
      t.headersMs <= t.requestMs || {
        path: ["headersMs"],
        message: `must not exceed requestMs (${t.requestMs}): the whole request, headers included, must arrive within requestMs`
      }
    )
  )
) {}

/** The interface to listen on: never empty (Node would listen on every interface, not the default 127.0.0.1). */
const ListenHost = Schema.String.pipe(
  Schema.filter((host) =>
    /^\S+$/.test(host) ||
    `expected the interface to listen on, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface), with no spaces; actual ${JSON.stringify(host)} (an empty one would listen on every interface)`
  )
)

/** Is `value` an origin as a browser sends it in `Origin` (`https://app.example.com`, `http://localhost:3000`)? */
const isOrigin = (value: string): boolean => {
  if (!URL.canParse(value)) return false
  const url = new URL(value)
  return url.protocol === "http:" || url.protocol === "https:" ? url.origin === value : /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/.test(value)
}

/**
 * A CORS origin: `*`, or exactly what a browser sends (scheme, host, port; lower
 * case, no default port, no path or trailing slash). Anything else would never
 * match, allowing nobody without a word.
 */
const CorsOrigin = Schema.NonEmptyTrimmedString.pipe(
  Schema.filter((value) => {
    if (value === "*" || isOrigin(value)) return true
    const origin = URL.canParse(value) ? new URL(value).origin : "null"
    const hint = origin === "null" ? "" : ` (did you mean ${JSON.stringify(origin)}?)`
    return `expected * or an origin as a browser sends it: scheme://host[:port], lower case, no path or trailing slash${hint}; actual ${JSON.stringify(value)}`
  })
)

/** HTTP listener. */
export class ServerConfig extends Schema.Class<ServerConfig>("ServerConfig")({
  host: withDefault(ListenHost, () => "127.0.0.1"),
  port: withDefault(Schema.Int.pipe(Schema.between(0, 65535)), () => 8787),
  maxBodyBytes: withDefault(PositiveInt, () => 10 * 1024 * 1024),
  shutdownGraceMs: withDefault(PositiveInt, () => 10_000),
  /**
   * Open connections at most; past it a new connection is closed at once (and
   * logged once per episode). 0: no cap. Keep it under the process's file
   * descriptor limit (`ulimit -n`).
   */
  maxConnections: withDefault(Schema.Int.pipe(Schema.nonNegative()), () => 10_000),
  timeouts: withDefault(ServerTimeouts, () => ServerTimeouts.make({})),
  /**
   * Origins whose browsers may call the gateway (CORS): exact origins such as
   * `https://app.example.com`, or `*` for any. Empty (the default): no CORS
   * headers, and a browser's preflight is not answered.
   */
  cors: withDefault(Schema.Array(CorsOrigin), () => []),
  /**
   * Serve the dashboard at `/dashboard` (a page reading the JSON API with
   * the key its user types; the page itself holds no data).
   */
  dashboard: withDefault(Schema.Boolean, () => true),
  /**
   * A streamed chat answer that sent nothing for this long gets a
   * `: keep-alive` comment (SSE readers skip it), so a proxy's idle timeout
   * does not cut a stream while its model thinks. 0: none.
   */
  sseKeepAliveMs: withDefault(Schema.Int.pipe(Schema.between(0, 3_600_000)), () => 15_000)
}) {}

/** Embedded SQLite store. */
export class DatabaseConfig extends Schema.Class<DatabaseConfig>("DatabaseConfig")({
  filename: withDefault(Schema.NonEmptyTrimmedString, () => "./data/modelgate.db"),
  /**
   * How often an instance applies what other instances sharing the database
   * stored (models added or changed through their admin API); 0: only at a
   * reload.
   */
  syncIntervalMs: withDefault(Schema.Int.pipe(Schema.between(0, 3_600_000)), () => 10_000)
}) {}

const httpUrlExpected = "expected an http:// or https:// URL, e.g. https://api.openai.com/v1 (value not shown)"

/**
 * A provider's endpoint: an http(s) URL (anything else would fail every call
 * as an invalid URL). A refusal does not quote it: it may hold a proxy's
 * credentials.
 */
const HttpUrl = Schema.NonEmptyTrimmedString.pipe(
  Schema.filter((url) => /^https?:\/\//i.test(url) && URL.canParse(url), { message: () => httpUrlExpected })
)

/** One provider's endpoint and client limits. */
export class ProviderConfig extends Schema.Class<ProviderConfig>("ProviderConfig")({
  baseUrl: HttpUrl,
  timeoutMs: withDefault(PositiveInt, () => 60_000),
  maxConcurrency: withDefault(PositiveInt, () => 64),
  maxRetries: withDefault(Schema.Int.pipe(Schema.between(0, 10)), () => 2),
  maxRetryWaitMs: withDefault(PositiveInt, () => 10_000)
}) {}

/** Selection weights; each 0..1. */
export class SelectionWeights extends Schema.Class<SelectionWeights>("SelectionWeights")({
  capability: withDefault(Fraction, () => 0.3),
  cost: withDefault(Fraction, () => 0.25),
  performance: withDefault(Fraction, () => 0.25),
  availability: withDefault(Fraction, () => 0.2)
}) {}

/** Model selection. */
export class SelectionConfig extends Schema.Class<SelectionConfig>("SelectionConfig")({
  weights: withDefault(SelectionWeights, () => SelectionWeights.make({}))
}) {}

/**
 * Rate limiting. `syncIntervalMs`: with several gateway instances on one
 * database, how often each shares its window counts with the others, so every
 * limit holds across them (unset: the gateway's default, 1 s on PostgreSQL,
 * none on SQLite).
 */
export class RateLimitConfig extends Schema.Class<RateLimitConfig>("RateLimitConfig")({
  warningThreshold: withDefault(Fraction, () => 0.9),
  windowMs: withDefault(PositiveInt, () => 60_000),
  syncIntervalMs: Schema.optional(PositiveInt)
}) {}

/**
 * Health checks. `syncIntervalMs`: with several gateway instances on one
 * database, how often each shares the models it finds unavailable and reads
 * the others' (unset: the gateway's default, 1 s on PostgreSQL, none on SQLite).
 */
export class HealthCheckConfig extends Schema.Class<HealthCheckConfig>("HealthCheckConfig")({
  enabled: withDefault(Schema.Boolean, () => true),
  intervalMs: withDefault(PositiveInt, () => 60_000),
  timeoutMs: withDefault(PositiveInt, () => 10_000),
  failureThreshold: withDefault(PositiveInt, () => 3),
  backoffCapMs: withDefault(PositiveInt, () => 600_000),
  syncIntervalMs: Schema.optional(PositiveInt)
}) {}

/**
 * Gateway events. `syncIntervalMs`: with several gateway instances on one
 * database, how often each writes the events it published and reads the
 * others', so every instance's `/v1/events` subscribers see all of them
 * (unset: the gateway's default, 1 s on PostgreSQL, none on SQLite).
 */
export class EventsConfig extends Schema.Class<EventsConfig>("EventsConfig")({
  syncIntervalMs: Schema.optional(PositiveInt)
}) {}

/** Failover between candidates. */
export class FailoverConfig extends Schema.Class<FailoverConfig>("FailoverConfig")({
  maxAttempts: withDefault(PositiveInt, () => 4),
  backoffBaseMs: withDefault(NonNegativeMs, () => 50),
  backoffCapMs: withDefault(NonNegativeMs, () => 2_000),
  excessiveThreshold: withDefault(PositiveInt, () => 10),
  excessiveWindowMs: withDefault(PositiveInt, () => 300_000),
  queueDeadlineMs: withDefault(NonNegativeMs, () => 30_000),
  queueCapacity: withDefault(PositiveInt, () => 1_000),
  /**
   * How long a stream whose first chunks carry none of the answer (a
   * role-only opening) is held back, so that a failure can still fail over;
   * then the client gets the opening, and a later failure ends the stream
   * with an error event. 0: no hold past the first chunk.
   */
  streamHoldMs: withDefault(Schema.Int.pipe(Schema.between(0, 600_000)), () => 10_000)
}) {}

/** Response cache. */
export class CacheConfig extends Schema.Class<CacheConfig>("CacheConfig")({
  enabled: withDefault(Schema.Boolean, () => true),
  ttlMs: withDefault(PositiveInt, () => 3_600_000),
  maxEntries: withDefault(PositiveInt, () => 10_000),
  maxBytes: withDefault(PositiveInt, () => 64 * 1024 * 1024),
  cacheNonDeterministic: withDefault(Schema.Boolean, () => false),
  sweepIntervalMs: withDefault(PositiveInt, () => 60_000)
}) {}

/** A spending limit in USD for one period. */
export class BudgetLimit extends Schema.Class<BudgetLimit>("BudgetLimit")({
  daily: Schema.optional(Positive),
  monthly: Schema.optional(Positive)
}) {}

/**
 * Budgets and their alert thresholds. `syncIntervalMs`: with several gateway
 * instances on one database, how often each reads back what the others spent
 * this day and month, so every budget holds across them (unset: never after
 * start; each read sums the month's cost records of the others).
 */
export class BudgetsConfig extends Schema.Class<BudgetsConfig>("BudgetsConfig")({
  global: withDefault(BudgetLimit, () => BudgetLimit.make({})),
  perModel: withDefault(Schema.Record({ key: Schema.String, value: BudgetLimit }), () => ({})),
  perAgentType: withDefault(Schema.Record({ key: Schema.String, value: BudgetLimit }), () => ({})),
  alertThresholds: withDefault(Schema.Array(Fraction), () => [0.5, 0.8, 1]),
  syncIntervalMs: Schema.optional(PositiveInt)
}) {}

/** Performance monitoring windows and degradation thresholds. */
export class PerformanceConfig extends Schema.Class<PerformanceConfig>("PerformanceConfig")({
  recentRequests: withDefault(PositiveInt, () => 100),
  recentWindowMs: withDefault(PositiveInt, () => 300_000),
  baselineWindowMs: withDefault(PositiveInt, () => 3_600_000),
  latencyDegradationFactor: withDefault(Positive, () => 2),
  errorRateDegradation: withDefault(Fraction, () => 0.2)
}) {}

/** Response evaluation. */
export class EvaluatorConfig extends Schema.Class<EvaluatorConfig>("EvaluatorConfig")({
  enabled: withDefault(Schema.Boolean, () => false),
  lowQualityThreshold: withDefault(Fraction, () => 0.5),
  switchAfterLowScores: withDefault(PositiveInt, () => 5),
  switchWindowMs: withDefault(PositiveInt, () => 600_000),
  weights: withDefault(
    Schema.Struct({ completeness: Fraction, relevance: Fraction, coherence: Fraction }),
    () => ({ completeness: 0.4, relevance: 0.3, coherence: 0.3 })
  )
}) {}

/**
 * The shortest record retention: the longest budget period, a calendar month
 * (31 days), whose spend and announced alerts (`budget_alerts`) the cost
 * tracker reads back from the month's first instant, plus one day, so that an
 * instance whose clock runs ahead of the one that stamped the records still
 * keeps the whole current month.
 */
export const minRetentionDays = 32

const retentionDaysMessage = `expected 0 (keep records forever) or a whole number of days of at least ${minRetentionDays} (the monthly budgets and their alerts read the current month's records back)`

/** Days of records to keep: 0 (forever) or at least `minRetentionDays`. */
const RetentionDays = Schema.Union(Schema.Literal(0), Schema.Int.pipe(Schema.greaterThanOrEqualTo(minRetentionDays))).annotations({
  description: `days of records to keep: 0 keeps them forever, else at least ${minRetentionDays}`,
  message: () => ({ message: retentionDaysMessage, override: true })
})

/** Record writer (write-behind queue) and how long records are kept. */
export class RecordsConfig extends Schema.Class<RecordsConfig>("RecordsConfig")({
  queueCapacity: withDefault(PositiveInt, () => 10_000),
  flushIntervalMs: withDefault(PositiveInt, () => 250),
  batchSize: withDefault(PositiveInt, () => 500),
  /** Records (costs, performance, health checks, ...) older than this many days are deleted, hourly; 0 keeps them forever. */
  retentionDays: withDefault(RetentionDays, () => 0)
}) {}

/**
 * What a `sha256` that is no digest is told. The messages under `auth` never
 * quote the value they refuse (Schema's "actual ..."): it may be a key pasted
 * where its digest belongs.
 */
const sha256Expected = "expected the key's SHA-256 as 64 hex digits (printf %s \"$KEY\" | sha256sum), never the key itself"

/**
 * A virtual key: a team's own key for `/v1/*`. The configuration keeps only
 * the key's SHA-256 (`printf %s "$KEY" | sha256sum`, or `modelgate keys new`),
 * never the key. A request with it is accounted to `agentType`, whatever the
 * request says, so `budgets.perAgentType` holds for that team; `rpm` bounds
 * the team's chat requests, so one team cannot use up a provider's limits.
 */
export class VirtualKey extends Schema.Class<VirtualKey>("VirtualKey")({
  name: Schema.NonEmptyTrimmedString,
  sha256: Schema.String.annotations({ message: () => sha256Expected }).pipe(
    Schema.pattern(/^[0-9a-fA-F]{64}$/, { message: () => sha256Expected })
  ),
  /** Replaces the agent type of every request with this key: at most `maxLabelLength` characters, as a request's own. */
  agentType: Schema.optional(Label),
  /**
   * Chat requests a minute (a sliding minute) this key may make; over it, 429
   * with `Retry-After`. Unset: no limit of its own. At most 100 000: the
   * gateway keeps the time of each request of the last minute (8 bytes each).
   */
  rpm: Schema.optional(Schema.Int.pipe(Schema.between(1, 100_000))),
  /** Registry ids of the only models this key's requests may use (`auto` picks among them). Unset: every model. */
  models: Schema.optional(Schema.NonEmptyArray(Schema.NonEmptyTrimmedString))
}, [undefined, undefined, { message: () => `expected an entry { "name", "sha256", ... } with the key's SHA-256, never the key itself` }]) {}

/** What two entries share (a name or a digest), the first found; undefined when they share nothing. */
const duplicateIn = (keys: ReadonlyArray<VirtualKey>): string | undefined => {
  const names = new Set<string>()
  const hashes = new Set<string>()
  for (const key of keys) {
    if (names.has(key.name)) return `two virtual keys are named ${JSON.stringify(key.name)}`
    const hash = key.sha256.toLowerCase()
    if (hashes.has(hash)) return `virtual key ${JSON.stringify(key.name)} has the same sha256 as an earlier one`
    names.add(key.name)
    hashes.add(hash)
  }
  return undefined
}

/** Gateway auth besides `MODELGATE_MASTER_KEY`: the teams' virtual keys (followed across reloads). */
export class AuthConfig extends Schema.Class<AuthConfig>("AuthConfig")({
  virtualKeys: withDefault(
    Schema.Array(VirtualKey).annotations({ message: () => "expected a list of entries { \"name\", \"sha256\", ... }, never a key itself" }).pipe(
      Schema.filter((keys) => duplicateIn(keys) ?? true)
    ),
    () => []
  )
}, [undefined, undefined, { message: () => "expected { \"virtualKeys\": [...] }, never a key itself" }]) {}

/** Log level. */
export const LogLevel = Schema.Literal("trace", "debug", "info", "warning", "error", "none")

/** The whole gateway configuration. */
export class GatewayConfigData extends Schema.Class<GatewayConfigData>("GatewayConfig")({
  $schema: Schema.optional(Schema.String),
  server: withDefault(ServerConfig, () => ServerConfig.make({})),
  auth: withDefault(AuthConfig, () => AuthConfig.make({})),
  database: withDefault(DatabaseConfig, () => DatabaseConfig.make({})),
  providers: withDefault(Schema.Record({ key: Schema.String, value: ProviderConfig }), () => defaultProviders),
  selection: withDefault(SelectionConfig, () => SelectionConfig.make({})),
  rateLimits: withDefault(RateLimitConfig, () => RateLimitConfig.make({})),
  healthCheck: withDefault(HealthCheckConfig, () => HealthCheckConfig.make({})),
  failover: withDefault(FailoverConfig, () => FailoverConfig.make({})),
  cache: withDefault(CacheConfig, () => CacheConfig.make({})),
  budgets: withDefault(BudgetsConfig, () => BudgetsConfig.make({})),
  performance: withDefault(PerformanceConfig, () => PerformanceConfig.make({})),
  evaluator: withDefault(EvaluatorConfig, () => EvaluatorConfig.make({})),
  records: withDefault(RecordsConfig, () => RecordsConfig.make({})),
  events: withDefault(EventsConfig, () => EventsConfig.make({})),
  logLevel: withDefault(LogLevel, () => "info" as const)
}) {}

/** Default endpoints of the four providers. */
export const defaultProviders: Record<string, ProviderConfig> = {
  openai: ProviderConfig.make({ baseUrl: "https://api.openai.com/v1" }),
  anthropic: ProviderConfig.make({ baseUrl: "https://api.anthropic.com" }),
  google: ProviderConfig.make({ baseUrl: "https://generativelanguage.googleapis.com" }),
  ollama: ProviderConfig.make({ baseUrl: "http://127.0.0.1:11434", timeoutMs: 300_000 })
}

/** The configuration with every default: what runs when no file is given. */
export const defaultConfig: GatewayConfigData = Schema.decodeUnknownSync(GatewayConfigData)({})
