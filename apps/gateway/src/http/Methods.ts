/**
 * The answer to a request the router has no route for: 405 with `Allow`
 * when its path is served with other methods (`PUT /v1/chat/completions`,
 * `OPTIONS` without `server.cors`), else 404. With `server.cors`, OPTIONS is
 * a method of every path: a plain OPTIONS (no preflight, or a preflight from
 * an origin not allowed; an allowed one is answered before the router) gets
 * 204 with `Allow`, and `Allow` lists OPTIONS. Paths are matched as the
 * router matches them (the same `find-my-way-ts`), and only on this rare path.
 */
import { HttpServerResponse } from "@effect/platform"
import * as FindMyWay from "find-my-way-ts"
import { ApiError, routeNotFound, toResponse } from "./ApiError.js"

/** A route as the router lists it. */
export interface Route {
  readonly method: string
  readonly path: FindMyWay.PathInput
}

/** 405 for `method` on `url`, whose path takes only the methods in `allow`. */
export const methodNotAllowed = (method: string, url: string, allow: string): ApiError =>
  new ApiError({
    status: 405,
    type: "invalid_request_error",
    code: "method_not_allowed",
    message: `method ${method} is not allowed on ${url}; it takes ${allow}`
  })

/**
 * The answer to a request no route took, for the router of `routes` (a GET
 * route answers HEAD too); with `cors` (`server.cors` configured) every path
 * also takes OPTIONS, answered 204 with `Allow`.
 */
export const make = (routes: Iterable<Route>, cors = false): (method: string, url: string) => HttpServerResponse.HttpServerResponse => {
  const byPath = new Map<FindMyWay.PathInput, Set<string>>()
  for (const { method, path } of routes) {
    const methods = byPath.get(path) ?? new Set()
    methods.add(method)
    if (method === "GET") methods.add("HEAD")
    if (cors) methods.add("OPTIONS")
    byPath.set(path, methods)
  }
  const paths = FindMyWay.make<string>()
  for (const [path, methods] of byPath) paths.all(path, [...methods].sort().join(", "))
  return (method, url) => {
    const allow = paths.find(method, url)?.handler
    if (allow === undefined) return toResponse(routeNotFound(method, url))
    return cors && method === "OPTIONS"
      ? HttpServerResponse.empty({ status: 204, headers: { allow } })
      : toResponse(methodNotAllowed(method, url, allow), { allow })
  }
}
