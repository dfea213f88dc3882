/**
 * Anthropic's other context-overflow 400, "input length and
 * `max_tokens` exceed context limit: N + M > L", is what a long prompt gets
 * when max_tokens is the model's full output limit (the adapter's default:
 * 64 000 on the registry's Claude 4.5 models). It must be
 * ContextLengthExceeded (failover moves to a larger context window), not a
 * BadRequest, which ends the request at once.
 */
import { assert, describe, it } from "@effect/vitest"
import { classifyAnthropic } from "../src/Anthropic/Errors.js"
import { errorContextOf } from "./internal/fixtures.js"

const info = { model: "claude-test", keyId: "anthropic#1", secrets: [] }
const body = JSON.stringify({
  type: "error",
  error: {
    type: "invalid_request_error",
    message: "input length and `max_tokens` exceed context limit: 178959 + 64000 > 200000, decrease input length or `max_tokens` and try again"
  },
  request_id: "req_011CUB2XUHWkFnQzxcKBbjpF"
})

describe("Anthropic context-limit 400", () => {
  it("input length + max_tokens over the context limit is ContextLengthExceeded", () => {
    assert.strictEqual(classifyAnthropic(errorContextOf("anthropic", info, 400, body))._tag, "ContextLengthExceeded")
  })
})
