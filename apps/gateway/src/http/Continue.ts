/**
 * `Expect: 100-continue` on the routes that read a body: a body its headers
 * alone refuse (over the route's limit by Content-Length: 413; a
 * Content-Encoding: 415) is answered before the client is invited to upload
 * it (see `NodeDispatch`), as reading it would answer. Routes are matched as
 * the router matches them (the same `find-my-way-ts`); only requests that
 * expect `100 Continue` come here.
 */
import * as FindMyWay from "find-my-way-ts"
import type * as Http from "node:http"
import { refusedUnread } from "./Body.js"
import { nodeHeaders, sendError } from "./NodeWrite.js"
import type * as RequestId from "./RequestId.js"

/** A route that reads a body of at most `maxBytes`. */
export interface BodyRoute {
  readonly method: string
  readonly path: FindMyWay.PathInput
  readonly maxBytes: number
}

/**
 * For a request that expects `100 Continue` on one of `routes`: answer the
 * refusal its headers alone earn and return true; false when it should be
 * continued (another route, or a body that may be read).
 */
export const make = (ids: RequestId.RequestIds, routes: Iterable<BodyRoute>) => {
  const limits = FindMyWay.make<number>()
  for (const { maxBytes, method, path } of routes) limits.on(method, path, maxBytes)
  return (req: Http.IncomingMessage, res: Http.ServerResponse): boolean => {
    const maxBytes = limits.find(req.method ?? "", req.url ?? "")?.handler
    const refused = maxBytes === undefined ? undefined : refusedUnread(req, maxBytes)
    if (refused === undefined) return false
    // The body was never invited: the connection is closed after the answer (Node does so too, without a 100).
    sendError(res, refused, { "x-request-id": ids(nodeHeaders(req)["x-request-id"]), connection: "close" }, () => {})
    return true
  }
}
