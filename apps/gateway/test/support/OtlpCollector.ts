/**
 * A stand-in OpenTelemetry collector for tests: an OTLP/HTTP endpoint on
 * loopback that keeps every export it receives (path, headers, raw body),
 * answering 200 as a collector does. Closed with the scope.
 */
import { Effect } from "effect"
import * as Http from "node:http"

/** One export as received. */
export interface Export {
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
}

/** An OTLP/JSON attribute value. */
export interface AnyValue {
  readonly stringValue?: string
  readonly boolValue?: boolean
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values: ReadonlyArray<AnyValue> }
}

/** An exported span (OTLP/JSON). */
export interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: AnyValue }>
  readonly status: { readonly code: number; readonly message?: string }
}

/** Start the collector; `url` is its base (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
export const start = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly exports: Array<Export>; readonly server: Http.Server }>((resume) => {
    const exports: Array<Export> = []
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        exports.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) })
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, exports, server }))
    })
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

/** Every span of JSON exports, with the resource attributes it came with. */
export const spansOf = (exports: ReadonlyArray<Export>) =>
  exports.flatMap((e) => {
    const data = JSON.parse(e.body.toString("utf8")) as {
      readonly resourceSpans: ReadonlyArray<{
        readonly resource: { readonly attributes: OtlpSpan["attributes"] }
        readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }>
      }>
    }
    return data.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ span, resource: r.resource.attributes }))))
  })

/** A plain JS value of an attribute value. */
const plain = (value: AnyValue): unknown =>
  value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ??
    value.arrayValue?.values.map(plain)

/** The attributes as a record of plain values. */
export const attributesOf = (attributes: OtlpSpan["attributes"]): Record<string, unknown> =>
  Object.fromEntries(attributes.map((a) => [a.key, plain(a.value)]))
