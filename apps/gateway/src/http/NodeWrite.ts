/**
 * Answers written straight to Node's `http.ServerResponse` on the hot route,
 * instead of returning an `HttpServerResponse` for the platform to write:
 * no header record copied twice, no body encoded to bytes first, no response
 * object per request. The platform skips a response that is already ended, so
 * the effect returns a shared stand-in with the status (`sent`).
 */
import { type Headers, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect } from "effect"
import * as Http from "node:http"
import { type ApiError, errorBody, errorHeaders } from "./ApiError.js"

const stand = new Map<number, HttpServerResponse.HttpServerResponse>()

/** A shared stand-in for an answer with `status` that was already written to the Node response. */
export const sent = (status: number): HttpServerResponse.HttpServerResponse => {
  let response = stand.get(status)
  if (response === undefined) {
    response = HttpServerResponse.empty({ status })
    stand.set(status, response)
  }
  return response
}

/** The Node response of a request served by Node's http server, when nothing was written to it yet. */
export const nodeResponse = (request: HttpServerRequest.HttpServerRequest): Http.ServerResponse | undefined => {
  // An upgrade request has no response yet: asking for it would create one.
  if (request.headers["upgrade"] !== undefined) return undefined
  const response: unknown = NodeHttpServerRequest.toServerResponse(request)
  return response instanceof Http.ServerResponse && !response.headersSent ? response : undefined
}

/**
 * Node's request headers as the platform's `Headers`: the platform's Node
 * request (`ServerRequestImpl`) hands out this very object as its `headers`.
 */
export const nodeHeaders = (req: Http.IncomingMessage): Headers.Headers => req.headers as unknown as Headers.Headers

/**
 * Write a whole answer in plain JS (`headers` must not carry a content
 * length: it is set here); `written`, if given, is called once the bytes are
 * handed to the socket (never if the connection closes first).
 */
export const sendText = (
  res: Http.ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
  written?: () => void
): void => {
  headers["content-length"] = String(Buffer.byteLength(body))
  res.writeHead(status, headers)
  res.end(body, written)
}

/**
 * Write a whole answer (`headers` must not carry a content length: it is set
 * here). Completes when the bytes are handed to the socket; a connection
 * closed before that interrupts the request's fiber (see HttpApp), which ends
 * this wait.
 */
export const writeText = (
  res: Http.ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.async((resume) => sendText(res, status, headers, body, () => resume(Effect.succeed(sent(status)))))

const errorText = (error: ApiError, headers?: Record<string, string>): [Record<string, string>, string] => {
  const all = errorHeaders(error, headers)
  all["content-type"] = "application/json"
  return [all, JSON.stringify(errorBody(error))]
}

/** `writeError` in plain JS: `written` once the bytes are handed to the socket. */
export const sendError = (res: Http.ServerResponse, error: ApiError, headers: Record<string, string> | undefined, written: () => void): void => {
  const [all, body] = errorText(error, headers)
  sendText(res, error.status, all, body, written)
}

/** Write `error` as a JSON answer in the OpenAI shape with `headers`. */
export const writeError = (
  res: Http.ServerResponse,
  error: ApiError,
  headers?: Record<string, string>
): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
  const [all, body] = errorText(error, headers)
  return writeText(res, error.status, all, body)
}
