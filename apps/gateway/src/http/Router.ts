/**
 * The routes of the gateway and their auth; every failure leaves as an
 * OpenAI-shaped error response.
 */
import { Headers, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { ApiKeys } from "@modelgate/core/ApiKeys"
import type { CostTracker } from "@modelgate/core/CostTracker"
import type { Events } from "@modelgate/core/Events"
import type { Gateway } from "@modelgate/core/Gateway"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import type { HealthChecker } from "@modelgate/core/HealthChecker"
import type { Metrics } from "@modelgate/core/Metrics"
import type { ModelRegistry } from "@modelgate/core/ModelRegistry"
import type { ModelSelector } from "@modelgate/core/ModelSelector"
import { Cause, Effect } from "effect"
import type * as Http from "node:http"
import * as Admin from "./Admin.js"
import * as AdminSelect from "./AdminSelect.js"
import { type ApiError, internal, toResponse } from "./ApiError.js"
import * as Auth from "./Auth.js"
import { adminBodyLimit } from "./Body.js"
import * as Chat from "./Chat.js"
import * as Continue from "./Continue.js"
import * as Dashboard from "./Dashboard.js"
import * as Info from "./Info.js"
import * as Methods from "./Methods.js"
import * as MetricsApi from "./Metrics.js"
import { nodeHeaders, sendError, writeError } from "./NodeWrite.js"
import * as RequestId from "./RequestId.js"

/** The services the HTTP app reads. */
export type AppServices =
  | Gateway
  | GatewayConfig
  | ModelRegistry
  | HealthChecker
  | ModelSelector
  | Events
  | ApiKeys
  | CostTracker
  | Metrics

type Handler = (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError>

/**
 * What a key reads is the key holder's alone: a GET answer behind a key that
 * says nothing of caching is `no-store`, so neither a browser's disk cache
 * (the dashboard's reads) nor a proxy keeps it.
 */
const unstored = (response: HttpServerResponse.HttpServerResponse) =>
  response.headers["cache-control"] === undefined ? HttpServerResponse.setHeader(response, "cache-control", "no-store") : response

const guarded = (check: Auth.Auth["gateway"], handler: Handler) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const denied = check(request.headers)
    if (denied !== undefined) return Effect.succeed(toResponse(denied))
    // Only reads are marked: a chat POST (the hot path) is not cached by browsers or proxies anyway.
    return request.method === "GET" ? Effect.map(handler(request), unstored) : handler(request)
  })

/** Options of the app. */
export interface AppOptions {
  /**
   * Completes when the server starts shutting down: long-lived streams (`/v1/events`) end then, and chat
   * requests still waiting in the queue or for a concurrency permit fail at once (503 `shutting_down`, never sent).
   */
  readonly closing?: Effect.Effect<void> | undefined
}

/** The app, and a direct path for the hot route on Node. */
export interface Routes {
  /** The id of a request from its `x-request-id` header (the client's when sane, else a new one). */
  readonly requestId: RequestId.RequestIds
  /** Every route through the `HttpRouter`; failures leave as OpenAI-shaped error responses. */
  readonly app: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>
  /**
   * `POST /v1/chat/completions` served before the router, on Node's request
   * and response themselves, writing its answer straight to `res` (auth,
   * body, answer and errors as the routed path does); `undefined` for any
   * other request. It needs no service of the platform: `HttpApp.serve` runs
   * it in a fiber of its own, below the platform's per-request pipeline.
   */
  readonly hot: (
    req: Http.IncomingMessage,
    res: Http.ServerResponse
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse> | undefined
  /**
   * The same route outside any fiber (`HttpApp.serve` on its Node server):
   * `undefined` for any other request, before anything is done; else auth,
   * body and refusals in plain JS and the answer of a valid request handed to
   * `hooks.fork` (see `Chat.ChatHandler.serveNode`). Returns `stop`, which
   * stops reading the body.
   */
  readonly serveNode: (req: Http.IncomingMessage, res: Http.ServerResponse, hooks: Chat.NodeHooks) => (() => void) | undefined
  /**
   * For a request that expects `100 Continue`: true when its refusal was
   * answered from its headers alone (413 or 415 of a route that reads a
   * body: chat, admin), false when it should be continued (see `NodeDispatch`).
   */
  readonly refuseUnread: (req: Http.IncomingMessage, res: Http.ServerResponse) => boolean
}

const noop = () => {}

/** Build the HTTP app from the services (reads `MODELGATE_MASTER_KEY` once; follows the virtual keys in the current scope). */
export const make = (options: AppOptions = {}) => Effect.map(makeRoutes(options), (routes) => routes.app)

/** Build the app and its hot path from the services (reads `MODELGATE_MASTER_KEY` once; follows the virtual keys in the current scope). */
export const makeRoutes = (options: AppOptions = {}) => Effect.gen(function* () {
  const auth = yield* Auth.fromConfig
  const settings = (yield* (yield* GatewayConfig).get).server
  const ids = yield* RequestId.make
  // A queued request's key is revoked when the auth, as a reload left it, would no longer let it in.
  const chat = yield* Chat.make(ids, auth.virtualKeyOf, options.closing, (headers) => auth.gateway(headers) === undefined)
  // A request without a key is let in only while the gateway runs without auth (no master key, no virtual keys).
  const info = yield* Info.make(
    options.closing ?? Effect.never,
    () => auth.gateway(Headers.empty) !== undefined,
    Info.eventsKeepAliveMs(settings.sseKeepAliveMs)
  )
  const admin = yield* Admin.make
  const select = yield* AdminSelect.make({ named: (name) => auth.virtualKeys().find((k) => k.name === name), throttled: auth.throttledNow })
  const metrics = yield* MetricsApi.make
  // Read once at start, as the rest of `server` (a reload does not add or remove routes).
  const dashboard = settings.dashboard ? yield* Dashboard.make : undefined
  const v1 = (handler: Handler) => guarded(auth.gateway, handler)
  // Chat requests also count against their virtual key's rpm (other /v1/* reads do not).
  const chatAuth: Auth.Auth["gateway"] = (headers) => auth.gateway(headers) ?? auth.throttle(headers)
  const adm = (handler: Handler) => guarded(auth.admin, handler)

  const router = HttpRouter.empty.pipe(
    HttpRouter.post("/v1/chat/completions", guarded(chatAuth, chat.respond)),
    // A virtual key limited to some models sees those only.
    HttpRouter.get("/v1/models", v1((request) => info.models(auth.virtualKeyOf(request.headers)?.models))),
    // The rest of the path is the model, which may hold a slash (`provider/model`, sent raw or as %2F).
    HttpRouter.get("/v1/models/*", v1((request) => info.model(Info.modelOfPath(request.url), auth.virtualKeyOf(request.headers)?.models))),
    HttpRouter.get("/v1/events", v1((request) => {
      // The stream lives on past reloads: it ends once its key no longer admits it as it did (revoked, re-bound).
      const key = auth.virtualKeyOf(request.headers)
      const team = key?.agentType
      const reader: Info.Reader = key === undefined ? "all" : { team }
      const admitted = () => auth.gateway(request.headers) === undefined && auth.virtualKeyOf(request.headers)?.agentType === team
      return info.eventStream(reader, admitted, Info.lastEventIdOf(request.headers, request.url))
    })),
    // A team (virtual key) sees its own agent type's metrics only; a key naming no agent type has none to see.
    HttpRouter.get("/v1/metrics", v1((request) => {
      const key = auth.virtualKeyOf(request.headers)
      if (key !== undefined && key.agentType === undefined) return Effect.fail(MetricsApi.keyWithoutTeam(key.name))
      return metrics.query(request.url, key?.agentType)
    })),
    HttpRouter.get("/health", info.liveness),
    HttpRouter.get("/ready", info.readiness),
    HttpRouter.get("/metrics", metrics.prometheus),
    HttpRouter.get("/admin/models", adm(() => admin.listModels)),
    HttpRouter.post("/admin/models", adm(admin.addModel)),
    HttpRouter.patch(
      "/admin/models/:id",
      Effect.flatMap(HttpRouter.params, (params) => adm((request) => admin.updateModel(request, params["id"] ?? "")))
    ),
    HttpRouter.post("/admin/reload", adm(() => admin.reload)),
    HttpRouter.get("/admin/health", adm(() => admin.healthAll)),
    HttpRouter.del("/admin/cache", adm(admin.purgeCache)),
    HttpRouter.get("/admin/costs", adm((request) => metrics.costReport(request.url))),
    HttpRouter.get("/admin/budgets", adm(() => metrics.budgets)),
    HttpRouter.get("/admin/keys", adm(() => Effect.sync(() => Info.json({ virtualKeys: auth.virtualKeys() })))),
    HttpRouter.post("/admin/select", adm(select))
  )
  // The page and its files need no key: they hold no data (the page asks the API with the user's key).
  const page = dashboard === undefined
    ? undefined
    : Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => dashboard(Dashboard.pathOf(request.url)))
  const routes = page === undefined ? router : router.pipe(HttpRouter.get("/dashboard", page), HttpRouter.get("/dashboard/*", page))

  const withId = (response: HttpServerResponse.HttpServerResponse) =>
    response.headers["x-request-id"] !== undefined
      ? Effect.succeed(response)
      : Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
        HttpServerResponse.setHeader(response, "x-request-id", ids(request.headers["x-request-id"])))

  // Node's method is upper case already (the platform's request upper-cases it), its url the raw one.
  const hot: Routes["hot"] = (req, res) => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") return undefined
    const headers = nodeHeaders(req)
    const denied = chatAuth(headers)
    return denied === undefined ? chat.writeTo(req, res) : writeError(res, denied, { "x-request-id": ids(headers["x-request-id"]) })
  }

  const serveNode: Routes["serveNode"] = (req, res, hooks) => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") return undefined
    const headers = nodeHeaders(req)
    const denied = chatAuth(headers)
    if (denied === undefined) return chat.serveNode(req, res, hooks)
    sendError(res, denied, { "x-request-id": ids(headers["x-request-id"]) }, hooks.settle)
    return noop
  }

  // Every route that reads a body, with the limit its handler reads it with.
  const refuseUnread: Routes["refuseUnread"] = Continue.make(ids, [
    { method: "POST", path: "/v1/chat/completions", maxBytes: settings.maxBodyBytes },
    { method: "POST", path: "/admin/models", maxBytes: adminBodyLimit },
    { method: "PATCH", path: "/admin/models/:id", maxBytes: adminBodyLimit },
    { method: "POST", path: "/admin/select", maxBytes: adminBodyLimit }
  ])

  // Read once, as `HttpApp` reads `server.cors` for preflights.
  const unrouted = Methods.make(routes.routes, settings.cors.length > 0)
  const app = routes.pipe(
    Effect.catchTags({
      ApiError: (error) => Effect.succeed(toResponse(error)),
      RouteNotFound: (error) => Effect.succeed(unrouted(error.request.method, error.request.url))
    }),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.as(Effect.logError("request failed", cause), toResponse(internal()))
    ),
    Effect.flatMap(withId)
  )
  return { app, hot, refuseUnread, requestId: ids, serveNode } satisfies Routes
})
