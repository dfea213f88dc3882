/**
 * Which chat calls get a span (`ChatSpan.decide`, OpenTelemetry's samplers):
 * under a parent-based sampler a client's trace context decides by its
 * sampled flag, and the call joins that trace; every other call is traced
 * with the sampler's ratio, in a trace of its own.
 */
import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as ChatSpan from "../src/http/ChatSpan.js"

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const spanId = "00f067aa0ba902b7"
const withParent = (flags: "01" | "00") => Headers.fromInput({ traceparent: `00-${traceId}-${spanId}-${flags}` })
const none = Headers.empty

/** How many of `n` calls without a trace context `sampling` traces. */
const tracedOf = (sampling: ChatSpan.Sampling, n: number) => {
  let traced = 0
  for (let i = 0; i < n; i++) if (ChatSpan.decide(sampling, none) !== undefined) traced++
  return traced
}

describe("which chat calls are traced", () => {
  it("no sampling (no tracer): none", () => {
    assert.isUndefined(ChatSpan.decide(undefined, withParent("01")))
    assert.isUndefined(ChatSpan.decide(undefined, none))
  })

  it("parent-based: the client's sampled flag decides, and the call joins its trace", () => {
    const sampled = ChatSpan.decide(ChatSpan.alwaysOn, withParent("01"))
    assert.strictEqual(sampled?.parent?.traceId, traceId)
    assert.strictEqual(sampled?.parent?.spanId, spanId)
    assert.isUndefined(ChatSpan.decide(ChatSpan.alwaysOn, withParent("00")), "sampled out by the client")
    assert.isDefined(ChatSpan.decide({ parentBased: true, ratio: 0 }, withParent("01")), "parentbased_always_off follows a sampled parent")
    assert.isUndefined(ChatSpan.decide({ parentBased: true, ratio: 0 }, none), "and traces no call of its own")
  })

  it("not parent-based: the ratio decides even for a sampled parent, whose trace a traced call still joins", () => {
    assert.isUndefined(ChatSpan.decide({ parentBased: false, ratio: 0 }, withParent("01")))
    assert.strictEqual(ChatSpan.decide({ parentBased: false, ratio: 1 }, withParent("00"))?.parent?.traceId, traceId)
  })

  it("the ratio: every call at 1, none at 0, about that share between", () => {
    assert.strictEqual(tracedOf({ parentBased: true, ratio: 1 }, 1000), 1000)
    assert.strictEqual(tracedOf({ parentBased: true, ratio: 0 }, 1000), 0)
    const quarter = tracedOf({ parentBased: true, ratio: 0.25 }, 20_000)
    // 5 000 expected; 20 000 draws stay within +-400 of it but once in ~10^11 runs.
    assert.isAbove(quarter, 4_600)
    assert.isBelow(quarter, 5_400)
    assert.isUndefined(ChatSpan.decide({ parentBased: true, ratio: 1 }, none)?.parent, "a call of its own starts its own trace")
  })
})
