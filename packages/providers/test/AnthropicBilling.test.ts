/**
 * Anthropic answers an exhausted credit balance and a reached
 * self-set spend limit with a 400 `invalid_request_error` (PROVIDERS.md,
 * error table "Quota / billing exhausted": "400 on own spend limit", retry
 * no, fail over). A BadRequest ends the whole request in Failover/Run.ts;
 * the key's account cannot serve, so it must be Unauthorized (key set aside,
 * next key or provider), as the 402 and the 429 spend-limit answers are.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import { classifyAnthropic } from "../src/Anthropic/Errors.js"
import { rawAdapter } from "./internal/rawUpstream.js"
import { ctxOf, errorContextOf, keyOf, live, modelOf } from "./internal/fixtures.js"

const info = { model: "claude-test", keyId: "anthropic#1", secrets: [] }
const body = (message: string) =>
  JSON.stringify({ type: "error", error: { type: "invalid_request_error", message }, request_id: "req_011CbrFTcXhtiMzr3s6EocF7" })

const credit = "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."
const spendLimit = "You have reached your specified API usage limits. You will regain access on 2026-04-01 at 00:00 UTC."

describe("Anthropic billing 400s", () => {
  it("a 400 for a too-low credit balance is Unauthorized (fail over), not a permanent BadRequest", () => {
    const error = classifyAnthropic(errorContextOf("anthropic", info, 400, body(credit)))
    assert.strictEqual(error._tag, "Unauthorized")
    assert.isFalse(error.retryable)
    assert.strictEqual(error._tag === "Unauthorized" ? error.keyId : undefined, "anthropic#1")
  })

  it("a 400 for a reached self-set spend limit is Unauthorized (fail over)", () => {
    assert.strictEqual(classifyAnthropic(errorContextOf("anthropic", info, 400, body(spendLimit)))._tag, "Unauthorized")
  })

  it("an ordinary 400 stays BadRequest", () => {
    const error = classifyAnthropic(errorContextOf("anthropic", info, 400, body("messages.0.content: Field required")))
    assert.strictEqual(error._tag, "BadRequest")
  })

  it.scoped("over HTTP: the chat call fails with Unauthorized carrying the key id", () =>
    live(Effect.gen(function*() {
      const { provider } = yield* rawAdapter(Anthropic.make, [{ status: 400, body: body(credit), headers: { "request-id": "req_1" } }])
      const error = yield* Effect.flip(provider.chat(ctxOf(modelOf("anthropic", "claude-x"), keyOf("anthropic", "sk-ant-test-0000"))))
      assert.strictEqual(error._tag, "Unauthorized")
    })))
})
