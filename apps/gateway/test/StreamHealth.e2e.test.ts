/**
 * A provider failure inside a stream (after its first chunk) is a
 * failure of the model's traffic, as the same failure before the first byte
 * is: health must hear of it. Before the fix the attempt had reported a
 * success at the first chunk and the mid-stream failure was never reported,
 * so a model whose every stream broke stayed "available" (and each broken
 * stream even reset its count of consecutive failures). A stream's success
 * is now reported when it ends, so broken streams count up to the threshold.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { events, post, rows, serveAll, waitUntil } from "./support/FourProviderStack.js"
import { postOpening } from "./support/RawProviders.js"

const body = { model: "claude", stream: true, messages: [{ role: "user", content: "please stream a longer answer to me" }] }

type Check = { model: string; ok: number; error_class: string | null; source: string }

describe("Mid-stream provider failures and health", () => {
  it.scopedLive("an overloaded_error event mid-stream is reported to health like a 529 before the first byte", () =>
    Effect.gen(function* () {
      const s = yield* serveAll()
      // control: 529 before the first byte -> failover, and a failed traffic check for claude
      yield* s.anthropic.script(Fault.status(529))
      const before = yield* post(s.url, body)
      assert.strictEqual(before.headers.get("x-modelgate-model"), "llama")
      const control = yield* waitUntil(
        () => rows<Check>(s.db, "SELECT model, ok, error_class, source FROM health_checks WHERE model = 'claude'"),
        (r) => r.length > 0
      )
      assert.deepStrictEqual(control.map((c) => [c.ok, c.error_class, c.source]), [[0, "Overloaded", "traffic"]])

      // two streams that break mid-way with the same overload: failures, not a success (at the first
      // chunk) then a failure, so the count goes on: 3 in a row (failureThreshold) take claude out
      // (The overload comes once the client has the first text: in the same read as it, claude would be failed over.)
      for (let i = 0; i < 2; i++) {
        const later = yield* Effect.makeLatch(false)
        yield* s.anthropic.script(Fault.inject(4, FakeAnthropic.errorEvent("overloaded_error", "Overloaded"), later))
        const broken = yield* postOpening(s.url, body, "Echo", () => Effect.runSync(later.open))
        assert.strictEqual(broken.headers.get("x-modelgate-model"), "claude")
        const data = events(broken.text)
        assert.isTrue((data[data.length - 1] ?? "").startsWith("{\"error\""), broken.text)
      }
      const checks = yield* waitUntil(
        () => rows<Check>(s.db, "SELECT model, ok, error_class, source FROM health_checks WHERE model = 'claude' AND ok = 0"),
        (r) => r.length >= 3
      )
      assert.strictEqual(checks.length, 3, `mid-stream overloads not reported to health: ${JSON.stringify(checks)}`)
      const after = yield* post(s.url, body)
      assert.strictEqual(after.headers.get("x-modelgate-model"), "llama", "claude is out after 3 failed calls in a row")
    }), 30_000)
})
