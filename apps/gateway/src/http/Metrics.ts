/**
 * Metrics and accounting endpoints: `GET /metrics` (Prometheus text),
 * `GET /v1/metrics` (JSON), `GET /admin/costs`, `GET /admin/budgets`.
 */
import { HttpServerResponse } from "@effect/platform"
import { CostTracker } from "@modelgate/core/CostTracker"
import type { CostGroupBy } from "@modelgate/core/CostStore"
import { Metrics, MetricsSnapshot } from "@modelgate/core/Metrics"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import type { StoreError } from "@modelgate/domain/Errors"
import { toUsd } from "@modelgate/domain/Money"
import { Clock, Effect, Either, Schema } from "effect"
import { ApiError, invalidRequest } from "./ApiError.js"
import { fromParseError } from "./Body.js"
import { json } from "./Info.js"

const encodeSnapshot = Schema.encodeSync(MetricsSnapshot)

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** The farthest instant a `Date` holds, either side of 1970 (epoch ms). */
const maxInstant = 8.64e15

/** `at` when a `Date` can hold it, else undefined (digits past `Number.MAX_VALUE` read as Infinity). */
const dated = (at: number): number | undefined => (Math.abs(at) <= maxInstant ? at : undefined)

/**
 * An instant from a query value: epoch ms (`1700000000000`), an ISO date
 * (`2026-01-31`, `2026-01-31T12:00:00Z`; UTC unless it names a zone), or a span back from `now` (`30m`, `24h`, `7d`);
 * undefined for anything else, and for an instant out of the range of dates.
 */
export const parseInstant = (value: string, now: number): number | undefined => {
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return dated(Number(trimmed))
  const span = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(trimmed)
  if (span !== null) return dated(now - Number(span[1]) * units[span[2]!]!)
  // ISO dates only: `Date.parse` also reads anything V8 can make sense of (`12/01` as 2001-12-01,
  // `2026-02-30` as 2026-03-02), a silently different range.
  const iso = isoDate.exec(trimmed)
  if (iso === null) return undefined
  const [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])]
  const calendar = new Date(Date.UTC(year, month - 1, day))
  if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined
  // A time without a zone is UTC, as a date alone is and the days of `by=day` are (`Date.parse` reads it in the host's zone).
  const parsed = Date.parse(iso[4] !== undefined && iso[5] === undefined ? `${trimmed}Z` : trimmed)
  return Number.isNaN(parsed) ? undefined : parsed
}

/** `YYYY-MM-DD`, optionally with `THH:MM[:SS[.fff]]` and a zone (`Z`, `+01:00`; none is UTC). */
const isoDate = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/i

/** A time then ` HH:MM`: a `+HH:MM` zone whose `+` the query decoding read as a space. */
const spacedOffset = /(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:\d{2})$/i

/** A date alone, no time (`2026-01-31`): a whole UTC day. */
const dateAlone = /^\s*\d{4}-\d{2}-\d{2}\s*$/

const dayMs = 86_400_000

/**
 * The instant of query parameter `name`. As the (exclusive) end of a range
 * (`end`), a date alone includes that whole day: it ends at the next midnight
 * UTC, so `to=2026-01-31` counts the 31st; a time, epoch ms or span is the end itself.
 */
const instant = (params: URLSearchParams, name: string, now: number, end = false): Either.Either<number | undefined, ApiError> => {
  const raw = params.get(name)
  if (raw === null || raw === "") return Either.right(undefined)
  const start = parseInstant(raw.replace(spacedOffset, "$1+$2"), now)
  const at = start !== undefined && end && dateAlone.test(raw) ? dated(start + dayMs) : start
  return at === undefined
    ? Either.left(invalidRequest(`invalid '${name}': expected epoch ms, an ISO date or a span like 24h / 7d (within the range of dates), got ${JSON.stringify(raw)}`, "invalid_query", name))
    : Either.right(at)
}

/**
 * `from` (inclusive) and `to` (exclusive; a date alone includes that day, see
 * `instant`) of a query; a 400 naming both when `from` is after `to` (an
 * empty range, `from` = `to`, is fine), or when `to` is a date alone and
 * `from` is at or after the end of that day (`from=2026-01-31&to=2026-01-30`:
 * a range that ends before it starts, whatever the next midnight says).
 */
const range = (params: URLSearchParams, now: number): Either.Either<{ readonly from: number | undefined; readonly to: number | undefined }, ApiError> =>
  Either.flatMap(Either.all([instant(params, "from", now), instant(params, "to", now, true)]), ([from, to]) => {
    const toDay = dateAlone.test(params.get("to") ?? "")
    return from !== undefined && to !== undefined && (toDay ? from >= to : from > to)
      ? Either.left(invalidRequest(
        `invalid 'from': ${JSON.stringify(params.get("from"))} (${new Date(from).toISOString()}) is after 'to' ${JSON.stringify(params.get("to"))} (${
          toDay ? `the whole day, up to ${new Date(to).toISOString()}` : new Date(to).toISOString()
        })`,
        "invalid_query",
        "from"
      ))
      : Either.right({ from, to })
  })

const storeFailure = (error: StoreError): ApiError =>
  new ApiError({ status: 500, type: "server_error", code: "store_error", message: error.message })

const searchParams = (url: string): URLSearchParams => {
  const q = url.indexOf("?")
  return new URLSearchParams(q === -1 ? "" : url.slice(q + 1))
}

/**
 * The check that a query holds only the parameters `names`, each once: another
 * one (a misspelt `agent=` for `agentType`) or one given twice would be
 * ignored, the answer taken as filtered when it is not. A 400 `invalid_query`
 * names it, worded as an unknown field of a body (listing the known ones).
 */
const onlyParams = (...names: ReadonlyArray<string>) => {
  const known = Schema.Struct(Object.fromEntries(names.map((name) => [name, Schema.optional(Schema.String)])))
  const decode = Schema.decodeUnknownEither(known, { onExcessProperty: "error" })
  return (params: URLSearchParams): Either.Either<void, ApiError> => {
    const unknown = decode(Object.fromEntries(params))
    if (Either.isLeft(unknown)) {
      const error = fromParseError(unknown.left)
      return Either.left(invalidRequest(error.message, "invalid_query", error.param))
    }
    const given = new Set<string>()
    for (const name of params.keys()) {
      if (given.has(name)) return Either.left(invalidRequest(`invalid '${name}': given more than once, expected one value`, "invalid_query", name))
      given.add(name)
    }
    return Either.void
  }
}

const metricsParams = onlyParams("from", "to", "model", "provider", "agentType")
const costsParams = onlyParams("from", "to", "by")

/** `by` of `/admin/costs` and `modelgate costs` to the store's grouping. */
export const groupings: Record<string, CostGroupBy> = {
  day: "day",
  month: "month",
  model: "model",
  provider: "provider",
  agent: "agentType",
  agentType: "agentType",
  key: "apiKeyId",
  none: "none"
}

/**
 * The 403 `GET /v1/metrics` answers a virtual key that names no `agentType`:
 * its requests keep the agent type they state, so no figures are its team's
 * (and every team's are not its business).
 */
export const keyWithoutTeam = (name: string): ApiError =>
  new ApiError({
    status: 403,
    type: "permission_error",
    code: "virtual_key_without_agent_type",
    message: `virtual key ${JSON.stringify(name)} names no agentType, so no metrics are its team's: give it an "agentType" in auth.virtualKeys to see its team's`
  })

/** Handlers of the metrics and accounting endpoints. */
export const make = Effect.gen(function* () {
  const metrics = yield* Metrics
  const costs = yield* CostTracker
  const registry = yield* ModelRegistry

  /** `GET /metrics`: the availability gauge of the models served now (enabled in the registry) only. */
  const prometheus = Effect.flatMap(registry.enabled, (enabled) => {
    const served = new Set<string>(enabled.map((m) => m.id))
    return Effect.map(metrics.prometheusOf?.((model) => served.has(model)) ?? metrics.prometheus, (text) =>
      HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))
  })

  /** `GET /v1/metrics`; `team`, when given (a virtual key's agent type), replaces the `agentType` filter. */
  const query = (url: string, team?: string | undefined) =>
    Effect.gen(function* () {
      const params = searchParams(url)
      yield* metricsParams(params)
      const { from, to } = yield* range(params, yield* Clock.currentTimeMillis)
      const filter: { -readonly [K in keyof typeof MetricsSnapshot.Type.filter]: (typeof MetricsSnapshot.Type.filter)[K] } = {}
      if (from !== undefined) filter.from = from
      if (to !== undefined) filter.to = to
      for (const name of ["model", "provider", "agentType"] as const) {
        const value = params.get(name)
        if (value !== null && value !== "") filter[name] = value
      }
      if (team !== undefined) filter.agentType = team
      const snapshot = yield* Effect.mapError(metrics.query(filter), storeFailure)
      return json(encodeSnapshot(snapshot))
    })

  const costReport = (url: string) =>
    Effect.gen(function* () {
      const params = searchParams(url)
      yield* costsParams(params)
      const { from, to } = yield* range(params, yield* Clock.currentTimeMillis)
      const by = params.get("by") ?? "day"
      const groupBy = groupings[by]
      if (groupBy === undefined) {
        return yield* invalidRequest(`invalid 'by': expected one of ${Object.keys(groupings).join(", ")}, got ${JSON.stringify(by)}`, "invalid_query", "by")
      }
      const groups = yield* Effect.mapError(costs.costs({ from, to, groupBy }), storeFailure)
      const total = groups.reduce((sum, g) => sum + g.costPicoUsd, 0n)
      return json({
        from: from ?? null,
        to: to ?? null,
        by,
        totalUsd: toUsd(total),
        groups: groups.map((g) => ({
          key: g.key,
          costUsd: toUsd(g.costPicoUsd),
          costPicoUsd: g.costPicoUsd.toString(),
          requests: g.requests,
          cacheHits: g.cacheHits,
          promptTokens: g.promptTokens,
          completionTokens: g.completionTokens,
          cachedTokens: g.cachedTokens,
          cacheWriteTokens: g.cacheWriteTokens,
          reasoningTokens: g.reasoningTokens
        }))
      })
    })

  const budgets = Effect.map(costs.budgetStatus, (all) =>
    json({
      object: "list",
      data: all.map((b) => ({
        budget: b.budget,
        period: b.period,
        periodStart: b.periodStart,
        periodEnd: b.periodEnd,
        limitUsd: toUsd(b.limitPicoUsd),
        spentUsd: toUsd(b.spentPicoUsd),
        reservedUsd: toUsd(b.reservedPicoUsd),
        used: b.limitPicoUsd === 0n ? null : Number((b.spentPicoUsd * 10_000n) / b.limitPicoUsd) / 10_000
      }))
    }))

  return { prometheus, query, costReport, budgets } as const
})
