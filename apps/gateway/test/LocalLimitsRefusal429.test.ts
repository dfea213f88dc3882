/**
 * A request whose every candidate was refused by the gateway's own limits
 * (a budget on one, a rate limit on another: concurrent requests took the
 * room between ranking and reservation) reached no provider that failed:
 * the client should get a 429 (wait and retry), not a 502 blaming upstream.
 */
import { assert, describe, it } from "@effect/vitest"
import { AllCandidatesFailed } from "@modelgate/domain/Errors"
import { fromGatewayError } from "../src/http/ApiError.js"

describe("Every candidate refused by a budget or a rate limit", () => {
  it("is a 429 naming them, with the soonest retry hint", () => {
    const error = new AllCandidatesFailed({
      failures: [
        { model: "a", tag: "BudgetExceeded", message: "budget model:a daily exceeded" },
        { model: "b", tag: "RateLimitExceeded", message: "rpm of b", retryAfterMs: 2_000 }
      ],
      retryAfterMs: 2_000
    })
    const api = fromGatewayError(error)
    assert.strictEqual(api.status, 429)
    assert.strictEqual(api.code, "rate_limit_exceeded")
    assert.include(api.message, "model:a")
    assert.strictEqual(api.retryAfterMs, 2_000)
  })

  it("a provider failure among them is still the upstream's: 502", () => {
    const error = new AllCandidatesFailed({
      failures: [
        { model: "a", tag: "BudgetExceeded", message: "budget model:a daily exceeded" },
        { model: "b", tag: "ServerError", message: "500" }
      ]
    })
    assert.strictEqual(fromGatewayError(error).status, 502)
  })
})
