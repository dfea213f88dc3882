/**
 * The client's trace context a chat call joins (`ChatSpan.decide`): a valid
 * W3C `traceparent`, B3 single `b3` or multi `x-b3-*` header. A malformed one
 * is ignored (the call starts a trace of its own), never copied into the
 * span: a collector refuses a whole export holding a trace id that is not 16
 * bytes ("invalid TraceID length"), so one client's bad header would lose
 * every call's spans of that export and pause the exporter for a minute.
 */
import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as ChatSpan from "../src/http/ChatSpan.js"

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const spanId = "00f067aa0ba902b7"

/** The trace a call with `headers` joins under the default sampler; undefined: a trace of its own. */
const joined = (headers: Record<string, string>) => ChatSpan.decide(ChatSpan.alwaysOn, Headers.fromInput(headers))?.parent

describe("the trace context a chat call joins", () => {
  it("a valid traceparent, b3 or x-b3-* header: that trace", () => {
    assert.deepInclude(joined({ traceparent: `00-${traceId}-${spanId}-01` }), { traceId, spanId, sampled: true })
    assert.deepInclude(joined({ b3: `${traceId}-${spanId}-1` }), { traceId, spanId, sampled: true })
    assert.deepInclude(joined({ b3: `${traceId}-${spanId}-d-${spanId}` }), { traceId, spanId, sampled: true })
    assert.deepInclude(joined({ "x-b3-traceid": traceId, "x-b3-spanid": spanId, "x-b3-sampled": "1" }), { traceId, spanId })
    // A later version's traceparent may carry more fields: its first four are read.
    assert.deepInclude(joined({ traceparent: `01-${traceId}-${spanId}-01-later` }), { traceId, spanId })
  })

  it("a 64-bit B3 trace id is widened to the 128 bits OTLP carries", () => {
    const short = "a3ce929d0e0e4736"
    assert.strictEqual(joined({ b3: `${short}-${spanId}-1` })?.traceId, `0000000000000000${short}`)
    assert.strictEqual(joined({ "x-b3-traceid": short, "x-b3-spanid": spanId })?.traceId, `0000000000000000${short}`)
  })

  it("a malformed header is ignored: the call starts a trace of its own", () => {
    const bad: ReadonlyArray<Record<string, string>> = [
      { b3: "foo-bar" },
      { b3: `${traceId}-xyz-1` },
      { b3: `${traceId.slice(1)}-${spanId}-1` },
      { b3: `00000000000000000000000000000000-${spanId}-1` },
      { "x-b3-traceid": "1", "x-b3-spanid": "2" },
      { "x-b3-traceid": traceId, "x-b3-spanid": "0000000000000000" },
      { traceparent: `00-00000000000000000000000000000000-${spanId}-01` },
      { traceparent: `00-${traceId}-0000000000000000-01` },
      { traceparent: `ff-${traceId}-${spanId}-01` },
      { traceparent: `00-${traceId}-${spanId}-01-extra` },
      { traceparent: `00-${traceId}-${spanId}-zz` },
      { traceparent: `00-${traceId.toUpperCase()}-${spanId}-01` }
    ]
    for (const headers of bad) {
      const decided = ChatSpan.decide(ChatSpan.alwaysOn, Headers.fromInput(headers))
      assert.isDefined(decided, `still traced: ${JSON.stringify(headers)}`)
      assert.isUndefined(decided?.parent, `no parent from ${JSON.stringify(headers)}`)
    }
  })

  it("a malformed traceparent does not hide a valid b3 header", () => {
    assert.deepInclude(joined({ traceparent: "garbage", b3: `${traceId}-${spanId}-1` }), { traceId, spanId })
  })
})
