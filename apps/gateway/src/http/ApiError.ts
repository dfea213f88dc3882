/**
 * Errors as the HTTP API answers them: the OpenAI error shape
 * `{"error": {"message", "type", "code", "param"}}` with the right status, and
 * the mapping from every gateway error to it.
 */
import { HttpServerResponse } from "@effect/platform"
import type { GatewayError } from "@modelgate/core/Gateway"
import { Data } from "effect"

/** A failure the HTTP layer answers directly. `message` names the problem; never a secret. */
export class ApiError extends Data.TaggedError("ApiError")<{
  readonly status: number
  readonly type: string
  readonly code: string
  readonly message: string
  readonly param?: string | undefined
  readonly retryAfterMs?: number | undefined
  /** No retry can pass soon (a missing key, a request larger than a whole budget): said to SDKs by `x-should-retry: false`. */
  readonly final?: boolean | undefined
}> {}

/** The OpenAI error body of an `ApiError`. */
export const errorBody = (error: ApiError) => ({
  error: { message: error.message, type: error.type, code: error.code, param: error.param ?? null }
})

/**
 * The longest `Retry-After` the OpenAI and Anthropic SDKs wait out before
 * their retries; beyond it they retry on their own short backoff, and are
 * refused again.
 */
const sdkLongestWaitMs = 60_000

/**
 * The headers of an error answer besides its content type: `headers`;
 * when a time is known, `Retry-After` (whole seconds, rounded up: at least 1)
 * and `retry-after-ms` (milliseconds, rounded up: at least 1), which the
 * OpenAI and Anthropic SDKs wait out in preference to `Retry-After`, so a
 * sub-second wait is not stretched to a second; and `x-should-retry: false`
 * (obeyed by both SDKs) when no retry of theirs can pass: a `final` error,
 * or a wait longer than they keep.
 */
export const errorHeaders = (error: ApiError, headers?: Record<string, string>): Record<string, string> => {
  const all: Record<string, string> = headers === undefined ? {} : { ...headers }
  if (error.retryAfterMs !== undefined && Number.isFinite(error.retryAfterMs)) {
    all["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)))
    all["retry-after-ms"] = String(Math.max(1, Math.ceil(error.retryAfterMs)))
  }
  if (error.final === true || (error.retryAfterMs !== undefined && error.retryAfterMs > sdkLongestWaitMs)) all["x-should-retry"] = "false"
  return all
}

/** An `ApiError` as a JSON response; `Retry-After` and `retry-after-ms` (rounded up) when a time is known (`errorHeaders`). */
export const toResponse = (error: ApiError, headers?: Record<string, string>): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(errorBody(error)), {
    status: error.status,
    contentType: "application/json",
    headers: errorHeaders(error, headers)
  })

/** 400 invalid request, naming the parameter when there is one. */
export const invalidRequest = (message: string, code = "invalid_request", param?: string): ApiError =>
  new ApiError({ status: 400, type: "invalid_request_error", code, message, param })

/** 404 for a path the gateway does not serve. */
export const routeNotFound = (method: string, url: string): ApiError =>
  new ApiError({ status: 404, type: "invalid_request_error", code: "not_found", message: `no route for ${method} ${url}` })

/** 500 for a defect: the message never carries details (they are logged). */
export const internal = (requestId?: string): ApiError =>
  new ApiError({
    status: 500,
    type: "server_error",
    code: "internal_error",
    message: `internal gateway error${requestId === undefined ? "" : ` (request ${requestId})`}; see the gateway log`
  })

const upstream = (message: string, code = "upstream_error", retryAfterMs?: number): ApiError =>
  new ApiError({ status: 502, type: "api_error", code, message, retryAfterMs })

const unavailable = (message: string, code: string, retryAfterMs?: number): ApiError =>
  new ApiError({ status: 503, type: "service_unavailable", code, message, retryAfterMs })

const rateLimited = (message: string, code: string, retryAfterMs?: number): ApiError =>
  new ApiError({ status: 429, type: "rate_limit_error", code, message, retryAfterMs })

/** Failures that clear with time: a provider's or the gateway's rate limit, a budget (concurrent requests took the room). */
const rateLimitTags: ReadonlySet<string> = new Set(["RateLimited", "RateLimitExceeded", "BudgetExceeded"])

/**
 * Tags of an `AllCandidatesFailed` entry for a model that was not tried: left out of the ranking
 * (`NotEligible`, Gateway/Attempt.ts), a context window no larger than one that was too small
 * (`Skipped`), past `failover.maxAttempts` (`NotTried`; Failover/Run.ts).
 */
const notTriedTags: ReadonlySet<string> = new Set(["NotEligible", "Skipped", "NotTried"])

const timedOut = (message: string): ApiError => new ApiError({ status: 504, type: "timeout_error", code: "upstream_timeout", message })

/**
 * Map a gateway error to its HTTP answer: 400 bad request, context length, a
 * parameter the model cannot serve or no model that could ever serve the
 * request, 401 a request whose key a reload revoked while it waited, 403 a model the key may not use, 404 unknown model, 429 rate
 * limits and budgets (every candidate rate limited included), 502 provider
 * failure after failover, 503 nothing available now (`shutting_down` for a
 * request whose wait, in the queue or for a concurrency permit, the server's
 * shutdown ended: `ShuttingDown`), 504 timeout
 * (every candidate timed out).
 */
export const fromGatewayError = (error: GatewayError): ApiError => {
  switch (error._tag) {
    case "ModelNotFound":
      return new ApiError({ status: 404, type: "invalid_request_error", code: "model_not_found", message: error.message, param: "model" })
    case "ModelNotAllowed":
      return new ApiError({ status: 403, type: "permission_error", code: "model_not_allowed", message: error.message, param: "model" })
    case "UnsupportedParameter":
      return invalidRequest(error.message, "unsupported_parameter", error.param)
    case "ModelUnavailable":
      return unavailable(error.message, "model_unavailable")
    case "NoEligibleModel":
      // Every model ruled out by the request itself (capabilities, context, parameters, its key's models):
      // no wait or retry can help, so not a 503 (which clients retry). The gateway's own setup (a missing
      // key, a disabled model) stays a 503.
      // A 503 that only the setup keeps (every model ruled out by it or by the request, none by time) is
      // final for a client's retries, as `MissingApiKey` is.
      return error.exclusions.length > 0 && error.exclusions.every((e) => e.kind === "request")
        ? invalidRequest(error.message, "no_eligible_model")
        : new ApiError({
          status: 503,
          type: "service_unavailable",
          code: "no_eligible_model",
          message: error.message,
          retryAfterMs: error.retryAfterMs,
          final: error.exclusions.length > 0 && error.exclusions.every((e) => e.kind === "permanent" || e.kind === "request")
        })
    case "QueueTimeout":
      return unavailable(error.message, "queue_timeout", error.retryAfterMs)
    case "ShuttingDown":
      // Its wait ended by the server's shutdown: never sent, for the client to retry on another instance.
      return unavailable(error.message, "shutting_down")
    case "KeyRevoked":
      // Its key was revoked by a reload while it waited: what a request with that key now gets, never sent.
      return new ApiError({ status: 401, type: "authentication_error", code: "invalid_api_key", message: error.message, final: true })
    case "MissingApiKey":
      return new ApiError({ status: 503, type: "service_unavailable", code: "missing_api_key", message: error.message, final: true })
    case "BudgetExceeded":
      return new ApiError({
        status: 429,
        type: "insufficient_quota",
        code: "budget_exceeded",
        message: error.message,
        retryAfterMs: error.retryAfterMs,
        // A request that may cost more than the whole budget never fits it.
        final: error.requestUsd !== undefined && error.requestUsd > error.limitUsd
      })
    case "RateLimitExceeded":
      return rateLimited(error.message, "rate_limit_exceeded", error.retryAfterMs)
    case "RateLimited":
      return rateLimited(error.message, "rate_limit_exceeded", error.retryAfterMs)
    case "AllCandidatesFailed": {
      // Every candidate tried was only rate limited: the client should wait and retry, not treat it as an outage.
      // Every candidate tried timed out: a 504 (the message names each candidate), as the client's own gateway
      // timeout reads. The models listed but not tried (left out of the ranking, skipped) do not count.
      const tried = error.failures.filter((f) => !notTriedTags.has(f.tag))
      return tried.length > 0 && tried.every((f) => rateLimitTags.has(f.tag))
        ? rateLimited(error.message, "rate_limit_exceeded", error.retryAfterMs)
        : tried.length > 0 && tried.every((f) => f.tag === "Timeout")
        ? timedOut(error.message)
        : upstream(error.message, "all_candidates_failed", error.retryAfterMs)
    }
    case "Overloaded":
      return unavailable(error.message, "provider_overloaded", error.retryAfterMs)
    case "Timeout":
      return timedOut(error.message)
    case "BadRequest":
      return invalidRequest(error.message, "provider_bad_request", error.param)
    case "ContextLengthExceeded":
      return invalidRequest(error.message, "context_length_exceeded", "messages")
    case "ContentFiltered":
      return invalidRequest(error.message, "content_filter")
    case "Unauthorized":
      // The provider refused the gateway's key: not the client's fault, so not a 401.
      return upstream(error.message, "provider_unauthorized")
    case "ServerError":
    case "Transport":
    case "MalformedResponse":
    case "StreamInterrupted":
      return upstream(error.message)
  }
}
