/**
 * The trace context a client sent with its call: a W3C `traceparent`, a B3
 * single `b3` or B3 multi `x-b3-*` header (the first valid one, in that
 * order). Each is checked as its specification says (lower-case hex ids of
 * the right length, not all zeros; a known `traceparent` version), and a
 * malformed one is ignored: its ids would go into every span of the call,
 * and a collector refuses a whole export holding a trace id that is not 16
 * bytes. A 64-bit B3 trace id is widened to 128 bits, as OpenTelemetry's B3
 * propagator does.
 */
import type { Headers } from "@effect/platform"
import { Tracer } from "effect"

const traceIdHex = /^[0-9a-f]{32}$/
const spanIdHex = /^[0-9a-f]{16}$/
const b3TraceIdHex = /^(?:[0-9a-f]{16}){1,2}$/
const flagsHex = /^[0-9a-f]{2}$/
const versionHex = /^[0-9a-f]{2}$/
const zeros = /^0+$/

const span = (traceId: string, spanId: string, sampled: boolean): Tracer.ExternalSpan =>
  Tracer.externalSpan({ traceId, spanId, sampled })

/** A `traceparent` (W3C Trace Context, level 1): `version-traceid-spanid-flags`; a later version may add fields. */
export const w3c = (value: string | undefined): Tracer.ExternalSpan | undefined => {
  if (value === undefined) return undefined
  const parts = value.trim().split("-")
  const [version, traceId, spanId, flags] = parts
  if (parts.length < 4 || !versionHex.test(version!) || version === "ff" || (version === "00" && parts.length !== 4)) return undefined
  if (!traceIdHex.test(traceId!) || zeros.test(traceId!) || !spanIdHex.test(spanId!) || zeros.test(spanId!) || !flagsHex.test(flags!)) {
    return undefined
  }
  return span(traceId!, spanId!, (parseInt(flags!, 16) & 1) === 1)
}

/** A B3 trace id (64 or 128 bits, hex) as OTLP's 128 bits; undefined when malformed or zero. */
const b3TraceId = (value: string): string | undefined => {
  const id = value.trim().toLowerCase()
  if (!b3TraceIdHex.test(id) || zeros.test(id)) return undefined
  return id.length === 16 ? `0000000000000000${id}` : id
}

const b3SpanId = (value: string): string | undefined => {
  const id = value.trim().toLowerCase()
  return spanIdHex.test(id) && !zeros.test(id) ? id : undefined
}

/** A B3 single header: `traceid-spanid[-sampling[-parentspanid]]`; sampled unless the sampling state is `0`. */
export const b3 = (value: string | undefined): Tracer.ExternalSpan | undefined => {
  if (value === undefined) return undefined
  const [trace, spanPart, sampling, ...rest] = value.trim().split("-")
  if (spanPart === undefined || rest.length > 1) return undefined
  const traceId = b3TraceId(trace!)
  const spanId = b3SpanId(spanPart)
  if (traceId === undefined || spanId === undefined) return undefined
  if (sampling !== undefined && sampling !== "0" && sampling !== "1" && sampling !== "d") return undefined
  if (rest.length === 1 && b3SpanId(rest[0]!) === undefined) return undefined
  return span(traceId, spanId, sampling !== "0")
}

/** B3 multi headers: `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled` (sampled unless `0` or `false`). */
export const xb3 = (headers: Headers.Headers): Tracer.ExternalSpan | undefined => {
  const trace = headers["x-b3-traceid"]
  const spanPart = headers["x-b3-spanid"]
  if (trace === undefined || spanPart === undefined) return undefined
  const traceId = b3TraceId(trace)
  const spanId = b3SpanId(spanPart)
  if (traceId === undefined || spanId === undefined) return undefined
  const sampled = headers["x-b3-sampled"]?.trim().toLowerCase()
  return span(traceId, spanId, headers["x-b3-flags"]?.trim() === "1" || (sampled !== "0" && sampled !== "false"))
}

/** The client's trace context: the first valid of `traceparent`, `b3` and `x-b3-*`; undefined when none is. */
export const fromHeaders = (headers: Headers.Headers): Tracer.ExternalSpan | undefined =>
  w3c(headers["traceparent"]) ?? b3(headers["b3"]) ?? xb3(headers)
