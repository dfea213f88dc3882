/**
 * CORS for browsers calling the gateway, opt-in with `server.cors` (a list of
 * origins, or `*`): a preflight (`OPTIONS` with `Access-Control-Request-Method`)
 * from an allowed origin is answered 204 before auth (any other OPTIONS on a
 * served path gets 204 with `Allow`, see Methods.ts), and every answer to an
 * allowed origin carries `Access-Control-Allow-Origin` and exposes the
 * `x-request-id` / `x-modelgate-*` headers and the retry hints an SDK reads
 * (`retry-after`, `retry-after-ms`, `x-should-retry`). Bearer tokens travel in the
 * `Authorization` header, so no credentials (cookies) are allowed. With no
 * origins configured nothing here runs.
 */
import type * as Http from "node:http"

const exposed = [
  "x-request-id",
  "x-modelgate-model",
  "x-modelgate-provider",
  "x-modelgate-cache",
  "x-modelgate-failovers",
  "x-modelgate-cost-usd",
  "retry-after",
  "retry-after-ms",
  "x-should-retry"
].join(", ")

/** The CORS decisions for one list of allowed origins. */
export interface Cors {
  /** The headers of any answer to a request from `origin`; `undefined` when it is not allowed (or absent). */
  readonly allow: (origin: string | undefined) => Record<string, string> | undefined
  /** The headers of a 204 answering a preflight; `undefined` when the request is no preflight from an allowed origin. */
  readonly preflight: (method: string, headers: Http.IncomingHttpHeaders) => Record<string, string> | undefined
}

/** CORS for `origins` (`*` allows any); `undefined` for none, so that callers skip it with one check. */
export const make = (origins: ReadonlyArray<string>): Cors | undefined => {
  if (origins.length === 0) return undefined
  const any = origins.includes("*")
  const listed = new Set(origins)
  const allow = (origin: string | undefined): Record<string, string> | undefined =>
    origin === undefined || !(any || listed.has(origin))
      ? undefined
      : { "access-control-allow-origin": origin, vary: "Origin", "access-control-expose-headers": exposed }
  const preflight = (method: string, headers: Http.IncomingHttpHeaders): Record<string, string> | undefined => {
    const requested = headers["access-control-request-method"]
    if (method !== "OPTIONS" || requested === undefined) return undefined
    const allowed = allow(headers.origin)
    if (allowed === undefined) return undefined
    return {
      "access-control-allow-origin": allowed["access-control-allow-origin"]!,
      vary: "Origin, Access-Control-Request-Headers",
      "access-control-allow-methods": "GET, POST, PATCH, OPTIONS",
      "access-control-allow-headers": headers["access-control-request-headers"] ?? "authorization, content-type",
      "access-control-max-age": "600"
    }
  }
  return { allow, preflight }
}

/** Set `headers` on Node's response before it is written (`writeHead` merges them with its own). */
export const setOn = (res: Http.ServerResponse, headers: Record<string, string>): void => {
  for (const name in headers) res.setHeader(name, headers[name]!)
}
