/**
 * Every gateway error maps to its documented status, OpenAI type and code.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayError } from "@modelgate/core/Gateway"
import {
  AllCandidatesFailed,
  BudgetExceeded,
  KeyRevoked,
  MissingApiKey,
  ModelNotAllowed,
  ModelNotFound,
  ModelUnavailable,
  NoEligibleModel,
  QueueTimeout,
  RateLimitExceeded,
  ShuttingDown,
  UnsupportedParameter
} from "@modelgate/domain/Errors"
import * as P from "@modelgate/domain/ProviderError"
import { errorBody, errorHeaders, fromGatewayError } from "../src/http/ApiError.js"

const common = { provider: "openai", model: "gpt-test", detail: "details here" }

const cases: ReadonlyArray<readonly [GatewayError, number, string]> = [
  [new ModelNotFound({ modelId: "x" }), 404, "model_not_found"],
  [new ModelNotAllowed({ modelId: "x", allowed: ["y"] }), 403, "model_not_allowed"],
  [new UnsupportedParameter({ modelId: "x", param: "n", reason: "one choice" }), 400, "unsupported_parameter"],
  [new ModelUnavailable({ model: "x", reason: "down" }), 503, "model_unavailable"],
  [new NoEligibleModel({ exclusions: [] }), 503, "no_eligible_model"],
  [new NoEligibleModel({ exclusions: [{ model: "a", reason: "down", kind: "unavailable" }, { model: "b", reason: "no vision", kind: "request" }] }), 503, "no_eligible_model"],
  // The gateway's setup (no API key): an operator can fix it, so a 503, not a 400 (`x-should-retry: false`: SdkRetries.test.ts).
  [new NoEligibleModel({ exclusions: [{ model: "a", reason: "no API key", kind: "permanent" }, { model: "b", reason: "no vision", kind: "request" }] }), 503, "no_eligible_model"],
  // Ruled out by the request itself: a retry never helps.
  [new NoEligibleModel({ exclusions: [{ model: "a", reason: "no vision", kind: "request" }, { model: "b", reason: "n=2", kind: "request" }] }), 400, "no_eligible_model"],
  [new QueueTimeout({ waitedMs: 100, reason: "busy" }), 503, "queue_timeout"],
  [new ShuttingDown({ waitedMs: 100, reason: "gpt-test: rate limited" }), 503, "shutting_down"],
  // Its key revoked by a reload while it waited: what that key now gets.
  [new KeyRevoked({ waitedMs: 100 }), 401, "invalid_api_key"],
  [new MissingApiKey({ provider: "openai", reason: "OPENAI_API_KEY is not set" }), 503, "missing_api_key"],
  [new BudgetExceeded({ budget: "global", period: "daily", limitUsd: 1, spentUsd: 2 }), 429, "budget_exceeded"],
  [new RateLimitExceeded({ model: "x", dimension: "tokens", retryAfterMs: 10 }), 429, "rate_limit_exceeded"],
  [new P.RateLimited(common), 429, "rate_limit_exceeded"],
  [new AllCandidatesFailed({ failures: [{ model: "a", tag: "ServerError", message: "500" }] }), 502, "all_candidates_failed"],
  [new AllCandidatesFailed({ failures: [{ model: "a", tag: "RateLimited", message: "429" }], retryAfterMs: 1_000 }), 429, "rate_limit_exceeded"],
  // A provider timeout reaches the client through the failover: 504 when every candidate timed out, else 502.
  [new AllCandidatesFailed({ failures: [{ model: "a", tag: "Timeout", message: "timeout after 60000 ms" }, { model: "b", tag: "Timeout", message: "timeout" }] }), 504, "upstream_timeout"],
  [new AllCandidatesFailed({ failures: [{ model: "a", tag: "Timeout", message: "timeout after 60000 ms" }, { model: "b", tag: "ServerError", message: "500" }] }), 502, "all_candidates_failed"],
  // The models that were not tried (left out of the ranking, as the gateway lists them; past maxAttempts) are
  // no candidates' failures: every model tried timed out, or was rate limited, whatever the others.
  [new AllCandidatesFailed({
    failures: [
      { model: "a", tag: "Timeout", message: "timeout after 60000 ms" },
      { model: "b", tag: "Timeout", message: "timeout" },
      { model: "c", tag: "NotTried", message: "failover.maxAttempts (2) reached" },
      { model: "d", tag: "NotEligible", message: "lacks required capabilities: vision" }
    ]
  }), 504, "upstream_timeout"],
  [new AllCandidatesFailed({
    failures: [
      { model: "a", tag: "RateLimited", message: "429" },
      { model: "d", tag: "NotEligible", message: "unavailable: no usable API key for anthropic" }
    ],
    retryAfterMs: 1_000
  }), 429, "rate_limit_exceeded"],
  [new P.Overloaded(common), 503, "provider_overloaded"],
  [new P.ServerError(common), 502, "upstream_error"],
  [new P.Timeout({ ...common, timeoutMs: 1_000 }), 504, "upstream_timeout"],
  // The provider's own 504 (its gateway timed out): no duration of the gateway's, still a 504.
  [new P.Timeout({ ...common, status: 504 }), 504, "upstream_timeout"],
  [new P.Transport(common), 502, "upstream_error"],
  [new P.Unauthorized(common), 502, "provider_unauthorized"],
  [new P.BadRequest({ ...common, param: "tools" }), 400, "provider_bad_request"],
  [new P.ContextLengthExceeded(common), 400, "context_length_exceeded"],
  [new P.ContentFiltered(common), 400, "content_filter"],
  [new P.MalformedResponse(common), 502, "upstream_error"],
  [new P.StreamInterrupted(common), 502, "upstream_error"]
]

describe("ApiError", () => {
  it("maps every gateway error to its status and code, with the error's message", () => {
    for (const [error, status, code] of cases) {
      const api = fromGatewayError(error)
      assert.strictEqual(api.status, status, error._tag)
      assert.strictEqual(api.code, code, error._tag)
      assert.strictEqual(api.message, error.message)
      const body = errorBody(api)
      assert.deepStrictEqual(Object.keys(body.error), ["message", "type", "code", "param"])
    }
  })

  it("a 503 after the queue deadline says when a candidate may serve again (Retry-After), and nothing when no time is known", () => {
    const timed = fromGatewayError(new QueueTimeout({ waitedMs: 5_000, reason: "a rate limited; b unavailable", retryAfterMs: 2_500 }))
    assert.strictEqual(timed.status, 503)
    assert.strictEqual(errorHeaders(timed)["retry-after"], "3")
    const untimed = fromGatewayError(new QueueTimeout({ waitedMs: 5_000, reason: "b unavailable" }))
    assert.strictEqual(untimed.status, 503)
    assert.notProperty(errorHeaders(untimed), "retry-after")
  })

  it("a known wait is sent as Retry-After in whole seconds rounded up (never 0) and exactly as retry-after-ms", () => {
    const headersFor = (retryAfterMs: number) => {
      const h = errorHeaders(fromGatewayError(new RateLimitExceeded({ model: "x", dimension: "requests", retryAfterMs })))
      return [h["retry-after"], h["retry-after-ms"]]
    }
    assert.deepStrictEqual(headersFor(2_500), ["3", "2500"])
    assert.deepStrictEqual(headersFor(3_000), ["3", "3000"])
    assert.deepStrictEqual(headersFor(200), ["1", "200"], "a sub-second wait: 1 s, its milliseconds exact")
    assert.deepStrictEqual(headersFor(0.4), ["1", "1"], "a wait under a millisecond is still one")
    assert.deepStrictEqual(headersFor(0), ["1", "1"], "never 0: a known wait")
    const untimed = errorHeaders(fromGatewayError(new QueueTimeout({ waitedMs: 5_000, reason: "b unavailable" })))
    assert.notProperty(untimed, "retry-after-ms")
  })

  it("keeps retry hints and the provider's parameter", () => {
    assert.strictEqual(fromGatewayError(new RateLimitExceeded({ model: "x", dimension: "requests", retryAfterMs: 1_500 })).retryAfterMs, 1_500)
    assert.strictEqual(fromGatewayError(new P.BadRequest({ ...common, param: "tools" })).param, "tools")
    assert.strictEqual(fromGatewayError(new ModelNotFound({ modelId: "x" })).param, "model")
    assert.strictEqual(fromGatewayError(new UnsupportedParameter({ modelId: "x", param: "n", reason: "one choice" })).param, "n")
  })
})
