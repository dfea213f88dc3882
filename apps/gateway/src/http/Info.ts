/**
 * Read-only endpoints: `GET /v1/models`, `GET /health`, `GET /ready`, and the
 * live event stream `GET /v1/events`.
 */
import { HttpServerResponse } from "@effect/platform"
import { ApiKeys } from "@modelgate/core/ApiKeys"
import { dims } from "@modelgate/core/CostTracker/Budgets"
import { Events, feedOf } from "@modelgate/core/Events"
import type { Delivery } from "@modelgate/core/Events/Feed"
import { HealthChecker } from "@modelgate/core/HealthChecker"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { Providers } from "@modelgate/core/Provider"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import { ModelNotFound } from "@modelgate/domain/Errors"
import { ConfigRejected, GatewayEvent, ModelSwitchRecommended } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Clock, Duration, Effect, Option, Schema, Stream } from "effect"
import { type ApiError, fromGatewayError } from "./ApiError.js"

/** A JSON response. */
export const json = (body: unknown, status = 200, headers?: Record<string, string>): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json", ...(headers === undefined ? {} : { headers }) })

const encoder = new TextEncoder()
const encodeEvent = Schema.encodeSync(GatewayEvent)

/**
 * The model of a `/v1/models/{model}` path: the rest of the path without the
 * query, percent-decoded (taken as sent when it is not valid encoding).
 */
export const modelOfPath = (url: string): string => {
  const rest = url.split("?", 1)[0]!.slice("/v1/models/".length)
  try {
    return decodeURIComponent(rest)
  } catch {
    return rest
  }
}

const always = () => true

/**
 * The id a `/v1/events` request resumes after: its `Last-Event-ID` header
 * (what `EventSource` sends when it reconnects), else its `lastEventId` query
 * parameter (what polyfills send); undefined when neither is given or empty.
 */
export const lastEventIdOf = (headers: Readonly<Record<string, string | undefined>>, url: string): string | undefined => {
  const header = headers["last-event-id"]
  if (header !== undefined && header !== "") return header
  const query = url.indexOf("?")
  const param = query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get("lastEventId")
  return param === null || param === "" ? undefined : param
}

/** Who reads `/v1/events`: every event (`"all"`), or a virtual key's team (its agent type; undefined when it names none). */
export type Reader = "all" | { readonly team: string | undefined }

/**
 * What a team sees of an event: of the per-request events (`ModelSelected`,
 * `Failover`, `LowQualityResponse`) only its own requests' (their agent type
 * is the team's; none of other teams' or of requests with no agent type:
 * their ids, models and timing are not its business); nothing of other agent
 * types' budget events; of the `ModelSwitchRecommended`s for a task type,
 * only those its own requests' low scores made (a task type is named by the
 * requests, as their agent type), and never which other teams' did; a
 * `ConfigRejected` without its path and reason (they
 * may quote config paths that name other teams' agent types or keys), only
 * the file and that the running configuration stays; every other event as it is.
 * A virtual key that names no agent type (`team` undefined) has no team's
 * requests: it sees none of the per-request events, nor any agent type's
 * budget events, nor a task type's recommendation.
 */
const shownTo = (team: string | undefined) => {
  const own = team === undefined ? undefined : dims.agentType(team)
  return (event: GatewayEvent): Option.Option<GatewayEvent> => {
    switch (event._tag) {
      case "ModelSelected":
      case "Failover":
      case "LowQualityResponse":
        return team !== undefined && event.agentType === team ? Option.some(event) : Option.none()
      case "BudgetThresholdCrossed":
      case "BudgetExceeded":
        return !event.budget.startsWith(dims.agentType("")) || event.budget === own ? Option.some(event) : Option.none()
      case "ModelSwitchRecommended":
        return event.taskType === undefined || (team !== undefined && event.agentTypes?.includes(team) === true)
          ? Option.some(event.agentTypes === undefined ? event : new ModelSwitchRecommended({ ...event, agentTypes: undefined }))
          : Option.none()
      case "ConfigRejected":
        return Option.some(ConfigRejected.make({ at: event.at, file: event.file, reason: "rejected; the running configuration stays" }))
      default:
        return Option.some(event)
    }
  }
}

/**
 * The keep-alive interval of `/v1/events` for `server.sseKeepAliveMs`: the
 * setting when shorter than 15 s (a proxy cutting idle connections sooner),
 * else 15 s, also when the setting turns chat keep-alives off (0): the
 * dashboard takes 45 s without a byte as a gateway gone.
 */
export const eventsKeepAliveMs = (sseKeepAliveMs: number): number =>
  sseKeepAliveMs > 0 ? Math.min(sseKeepAliveMs, 15_000) : 15_000

/**
 * Handlers of the read-only endpoints; event streams end when `closing`
 * completes. `keyRequired` tells whether `/v1/*` needs a key now (`/ready`
 * says so; default: it does); `keepAliveMs` is the event streams' keep-alive
 * interval.
 */
export const make = (closing: Effect.Effect<void>, keyRequired: () => boolean = () => true, keepAliveMs = 15_000) => Effect.gen(function* () {
  const registry = yield* ModelRegistry
  const health = yield* HealthChecker
  const keys = yield* ApiKeys
  const events = yield* Events
  // Optional (an app over doubles may have no adapters): then every provider is taken to need a key.
  const adapters = Option.getOrUndefined(yield* Effect.serviceOption(Providers))
  // Optional too (records kept in memory have no writer): then `/ready` says nothing about records.
  const writer = Option.getOrUndefined(yield* Effect.serviceOption(RecordWriter))
  const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)

  const auto = { id: "auto", object: "model", created, owned_by: "modelgate" }
  const entry = (m: ModelMetadata) => ({
    id: m.id,
    object: "model",
    created,
    owned_by: m.provider,
    display_name: m.displayName,
    capabilities: m.capabilities,
    context_window: m.contextWindow
  })

  /**
   * `GET /v1/models`: the OpenAI list shape, enabled registry models plus
   * `auto`; of them, only those in `allowed` (a virtual key's `models`) when given.
   */
  const models = (allowed?: ReadonlyArray<string>) =>
    Effect.map(registry.enabled, (list) =>
      json({ object: "list", data: [auto, ...(allowed === undefined ? list : list.filter((m) => allowed.includes(m.id))).map(entry)] }))

  /**
   * `GET /v1/models/{model}`: one model as OpenAI's retrieve answers it (a
   * registry id, `provider/model`, or `auto`); 404 `model_not_found` for one
   * the gateway does not serve (unknown or disabled) or, with `allowed` (a
   * virtual key's `models`), one the key may not use.
   */
  const model = (name: string, allowed?: ReadonlyArray<string>): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> =>
    name === "auto"
      ? Effect.succeed(json(auto))
      : Effect.matchEffect(registry.resolve(name), {
        onFailure: (e) => Effect.fail(fromGatewayError(e)),
        onSuccess: (m) =>
          m.enabled && (allowed === undefined || allowed.includes(m.id))
            ? Effect.succeed(json(entry(m)))
            : Effect.fail(fromGatewayError(new ModelNotFound({ modelId: name })))
      })

  /** `GET /health`: the process is up. */
  const liveness = Effect.succeed(json({ status: "ok" }))

  /**
   * `GET /ready`: per provider, keys and model health; 200 when at least one
   * provider can serve (it has a key, or needs none as Ollama, and a model
   * not known to be unavailable). `records` tells whether records are being
   * written (`degraded`: the store fails, records wait in memory) and how
   * many wait; a failing store does not make the gateway unready.
   * `keyRequired` says whether `/v1/*` needs a key (false: the gateway runs
   * without auth), so that the dashboard, without a key, asks nothing the
   * gateway would refuse.
   */
  const readiness = Effect.gen(function* () {
    const [enabled, statuses, keyStatus] = yield* Effect.all([registry.enabled, health.all, keys.status])
    const byModel = new Map(statuses.map((s) => [s.model, s]))
    const providers = [...new Set(enabled.map((m) => m.provider))].sort()
    const rows = yield* Effect.forEach(providers, (provider) =>
      Effect.map(keys.hasKey(provider), (hasKey) => {
        const own = enabled.filter((m) => m.provider === provider)
        const available = own.filter((m) => byModel.get(m.id)?.status !== "unavailable")
        const k = keyStatus.find((s) => s.provider === provider)
        const requiresKey = adapters?.get(provider)?.requiresKey ?? true
        return {
          provider,
          ready: (hasKey || !requiresKey) && available.length > 0,
          requiresKey,
          hasKey,
          keys: k === undefined ? undefined : { total: k.total, usable: k.usable },
          models: own.length,
          availableModels: available.map((m) => m.id),
          unavailableModels: own.filter((m) => byModel.get(m.id)?.status === "unavailable").map((m) => ({
            model: m.id,
            reason: byModel.get(m.id)?.reason ?? ""
          }))
        }
      }))
    const ready = rows.some((r) => r.ready)
    const records = writer === undefined ? undefined : yield* writer.stats
    return json({ status: ready ? "ready" : "not_ready", keyRequired: keyRequired(), providers: rows, records }, ready ? 200 : 503)
  })

  const feed = feedOf(events)

  /**
   * `GET /v1/events`: every GatewayEvent from now on, each as an SSE message
   * with an `id:` (`<bootId>-<n>`, increasing) and a `data:` line, after a
   * `: connected` comment and `retry: 5000` (then a comment every
   * `keepAliveMs`, 15 s by default: `eventsKeepAliveMs`), with
   * `Cache-Control: no-cache` and `X-Accel-Buffering: no` so that proxies
   * (nginx) pass each event on at once. With `lastEventId` (a reconnect's
   * `Last-Event-ID`), the events kept after it are sent first (`Events.feed`).
   * Where events may have been missed (an id this process did not give or no
   * longer keeps, a reader too slow for its buffer), an `event: missed`
   * message says why (`data: {"reason", "count"}`; the count, which would
   * tell of other teams' events, only to `"all"`). `reader` is who reads:
   * `"all"` (the master key, a gateway without auth) sees every event; a
   * virtual key (`{ team }`: its agent type, undefined when it names none)
   * only its own team's per-request events, no other team's budget events,
   * and a `ConfigRejected` naming the file only (`shownTo`). `admitted` is
   * asked before each event and keep-alive: once it says no (the key was
   * revoked or re-bound by a reload), the stream ends, sending nothing more.
   */
  const eventStream = (reader: Reader = "all", admitted: () => boolean = always, lastEventId?: string) => Effect.sync(() => {
    const shown = reader === "all" ? Option.some<GatewayEvent> : shownTo(reader.team)
    const message = (delivery: Delivery): Option.Option<string> => {
      if (delivery._tag === "Missed") {
        const count = reader === "all" ? delivery.count : undefined
        return Option.some(`event: missed\ndata: ${JSON.stringify({ reason: delivery.reason, count })}\n\n`)
      }
      const id = delivery.id === undefined ? "" : `id: ${delivery.id}\n`
      return Option.map(shown(delivery.event), (event) => `${id}data: ${JSON.stringify(encodeEvent(event))}\n\n`)
    }
    return HttpServerResponse.stream(
      Stream.merge(
        feed(lastEventId).pipe(
          // Asked before each event too: a revoked key is sent nothing published after its reload.
          Stream.takeWhile(() => admitted()),
          Stream.filterMap(message),
          Stream.map((text) => encoder.encode(text))
        ),
        Stream.concat(
          Stream.succeed(encoder.encode(": connected\nretry: 5000\n\n")),
          Stream.tick(Duration.millis(keepAliveMs)).pipe(Stream.drop(1), Stream.takeWhile(admitted), Stream.as(encoder.encode(": keep-alive\n\n")))
        ),
        { haltStrategy: "either" }
      ).pipe(Stream.interruptWhen(closing)),
      { contentType: "text/event-stream", headers: { "cache-control": "no-cache", "x-accel-buffering": "no" } }
    )
  })

  return { models, model, liveness, readiness, eventStream } as const
})
