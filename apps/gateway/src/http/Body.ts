/**
 * Request bodies: read with a byte limit (Content-Length checked first, then
 * counted while reading), checked to be UTF-8, parsed as JSON and decoded with
 * Schema; each failure is an `ApiError` naming the problem.
 */
import type { HttpServerRequest } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Either, ParseResult, Schema } from "effect"
import { isUtf8 } from "node:buffer"
import type * as Http from "node:http"
import { ApiError, invalidRequest } from "./ApiError.js"

/** The most an admin request's body may hold (`POST /admin/models`, `PATCH /admin/models/:id`, `POST /admin/select`). */
export const adminBodyLimit = 1024 * 1024

/** The 413 for a body over `limit`; `what` (as "of 900 bytes") when its size is known. */
const tooLarge = (limit: number, what?: string): ApiError =>
  new ApiError({
    status: 413,
    type: "invalid_request_error",
    code: "request_too_large",
    message: `request body ${what === undefined ? "" : `${what} `}exceeds the limit of ${limit} bytes`
  })

/**
 * Read the whole body, refusing more than `maxBytes` (413), and continue with
 * `then` on the bytes inside the same suspension: synchronous checks and
 * decoding cost no extra Effect step (`then` may return an `Either`).
 */
export const readWith = <A>(
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number,
  then: (bytes: Buffer) => Effect.Effect<A, ApiError>
): Effect.Effect<A, ApiError> => readFrom(NodeHttpServerRequest.toIncomingMessage(request), maxBytes, then)

/** A 413 when the request's Content-Length is over `maxBytes`, before anything is read. */
export const declaredTooLarge = (source: Http.IncomingMessage, maxBytes: number): ApiError | undefined => {
  const declared = source.headers["content-length"]
  if (declared === undefined) return undefined
  const length = Number(declared)
  return Number.isFinite(length) && length > maxBytes ? tooLarge(maxBytes, `of ${length} bytes`) : undefined
}

/**
 * A 415 when the request declares a `Content-Encoding` (gzip, br, ...) other
 * than `identity`: bodies are read as they are sent, never decompressed, so
 * an encoded body is refused by name instead of failing as bad JSON.
 */
export const declaredEncoded = (source: Http.IncomingMessage): ApiError | undefined => {
  const encoding = source.headers["content-encoding"]
  const name = encoding?.trim().toLowerCase()
  if (name === undefined || name === "" || name === "identity") return undefined
  return new ApiError({
    status: 415,
    type: "invalid_request_error",
    code: "unsupported_content_encoding",
    message: `Content-Encoding '${encoding}' is not supported: send the request body uncompressed (no Content-Encoding header)`
  })
}

/** The refusal of a body from its headers alone: over `maxBytes` by Content-Length (413), or encoded (415). */
export const refusedUnread = (source: Http.IncomingMessage, maxBytes: number): ApiError | undefined =>
  declaredTooLarge(source, maxBytes) ?? declaredEncoded(source)

/** The most of a refused body read and discarded before its 413 (past it, the 413 is written at once). */
export const maxDrainBytes = 64 * 1024 * 1024

/**
 * Discard the rest of `source` and call `then` once all of it has arrived
 * (or `maxDrainBytes` more of it). A refusal (413) is written only then:
 * written earlier, its connection (closed after a 413) would be closed under
 * a client still sending, which then sees a reset (EPIPE / ECONNRESET)
 * instead of the answer. Returns `stop` (idempotent; `then` is not called
 * after it).
 */
export const drain = (source: Http.IncomingMessage, then: () => void, limit = maxDrainBytes): () => void => {
  let done = false
  let discarded = 0
  const stop = () => {
    if (done) return
    done = true
    source.off("end", onEnd)
    source.off("data", onData)
  }
  const onEnd = () => {
    stop()
    then()
  }
  const onData = (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > limit) onEnd()
  }
  if (source.readableEnded) {
    done = true
    then()
    return () => {}
  }
  source.on("end", onEnd)
  source.on("data", onData)
  source.resume()
  return stop
}

/**
 * Read the whole body in plain JS (no fiber): `onBytes` with the bytes at its
 * end, or `onError` once (413 over `maxBytes`, once the rest of the body has
 * been received and discarded; 400 when the stream fails). Returns `stop`,
 * which stops reading (idempotent; neither callback is called after it).
 */
export const collect = (
  source: Http.IncomingMessage,
  maxBytes: number,
  onBytes: (bytes: Buffer) => void,
  onError: (error: ApiError) => void
): () => void => {
  const chunks: Array<Buffer> = []
  let size = 0
  let done = false
  let stopDrain: (() => void) | undefined
  const stop = () => {
    stopDrain?.()
    if (done) return
    done = true
    source.off("data", onData)
    source.off("end", onEnd)
    source.off("error", onFailure)
  }
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > maxBytes) {
      stop()
      chunks.length = 0
      // Drain the rest without keeping it, then write the 413 (the connection is closed afterwards).
      stopDrain = drain(source, () => onError(tooLarge(maxBytes)))
      return
    }
    chunks.push(chunk)
  }
  const onEnd = () => {
    stop()
    onBytes(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
  }
  const onFailure = (cause: Error) => {
    stop()
    onError(invalidRequest(`could not read the request body: ${cause.message}`, "invalid_body"))
  }
  source.on("data", onData)
  source.on("end", onEnd)
  source.on("error", onFailure)
  return stop
}

/** `readWith` on Node's request itself (the platform's Node request reads the same message). */
export const readFrom = <A>(
  source: Http.IncomingMessage,
  maxBytes: number,
  then: (bytes: Buffer) => Effect.Effect<A, ApiError>
): Effect.Effect<A, ApiError> => {
  const refused = refusedUnread(source, maxBytes)
  if (refused !== undefined) {
    // Answered once the body has arrived (see `drain`).
    return Effect.async<A, ApiError>((resume) => Effect.sync(drain(source, () => resume(Effect.fail(refused)))))
  }
  return Effect.async<A, ApiError>((resume) => {
    const stop = collect(source, maxBytes, (bytes) => {
      // A throw here would escape into the request stream's 'end' listener (an uncaught exception, the
      // request never answered): it is a defect of this request instead.
      let next: Effect.Effect<A, ApiError>
      try {
        next = then(bytes)
      } catch (defect) {
        next = Effect.die(defect)
      }
      resume(next)
    }, (error) => resume(Effect.fail(error)))
    return Effect.sync(stop)
  })
}

/** Read the whole body as bytes, refusing more than `maxBytes` (413). */
export const readBytes = (request: HttpServerRequest.HttpServerRequest, maxBytes: number): Effect.Effect<Buffer, ApiError> =>
  readWith(request, maxBytes, Effect.succeed)

/**
 * Where the JSON text starts: after a UTF-8 byte order mark, which RFC 8259
 * lets a parser ignore and Windows tools write at the start of every "UTF-8"
 * file (`curl --data @file` sends it); `JSON.parse` refuses it.
 */
const textStart = (bytes: Buffer): number => (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)

/** Bytes as JSON (a leading UTF-8 byte order mark ignored): 400 for an empty body, invalid UTF-8 or malformed JSON. */
export const parseJson = (bytes: Buffer): Either.Either<unknown, ApiError> => {
  const start = textStart(bytes)
  if (bytes.length === start) return Either.left(invalidRequest("request body is empty; expected a JSON object", "invalid_json"))
  if (!isUtf8(bytes)) return Either.left(invalidRequest("request body is not valid UTF-8", "invalid_encoding"))
  try {
    return Either.right(JSON.parse(bytes.toString("utf8", start)) as unknown)
  } catch (cause) {
    return Either.left(
      invalidRequest(`request body is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, "invalid_json")
    )
  }
}

/** Read the body and parse it as JSON: 413 over the limit, 400 for invalid UTF-8 or malformed JSON. */
export const readJson = (request: HttpServerRequest.HttpServerRequest, maxBytes: number): Effect.Effect<unknown, ApiError> =>
  readWith(request, maxBytes, parseJson)

/**
 * The deepest nesting of arrays and objects a request body may have. Far
 * deeper values (a few thousand levels fit in a few kB) overflow the stack
 * wherever they are walked recursively: `JSON.stringify` before a provider
 * call, the formatting of a Schema error.
 */
export const maxNesting = 256

/** Whether `value` nests arrays / objects deeper than `limit` (walked without recursion). */
export const nestedDeeper = (value: unknown, limit = maxNesting): boolean => {
  if (typeof value !== "object" || value === null) return false
  const values: Array<object> = [value]
  const depths: Array<number> = [1]
  while (values.length > 0) {
    const current = values.pop()!
    const depth = depths.pop()!
    if (depth > limit) return true
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === "object" && child !== null) {
        values.push(child)
        depths.push(depth + 1)
      }
    }
  }
  return false
}

/** The 400 for a body (or the part of it named `param`) nested deeper than `maxNesting`. */
export const nestedTooDeep = (param?: string): ApiError =>
  invalidRequest(
    `${param === undefined ? "request body" : `'${param}'`} is nested deeper than ${maxNesting} levels of arrays and objects`,
    "invalid_request",
    param
  )

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** `["messages", 0, "role"]` -> `messages[0].role`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, key) => {
    if (typeof key === "number") return `${acc}[${key}]`
    const name = String(key)
    if (identifier.test(name)) return acc === "" ? name : `${acc}.${name}`
    return `${acc}[${JSON.stringify(name)}]`
  }, "")

const clip = (text: string): string => (text.length > 240 ? `${text.slice(0, 240)}…` : text)

/** A parse error as a 400 naming the field (`param`) and what was wrong with it. */
export const fromParseError = (error: ParseResult.ParseError, prefix = ""): ApiError => {
  const first = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (first === undefined) return invalidRequest(`invalid request body: ${clip(error.message)}`)
  const full = prefix === "" ? first.path : [prefix, ...first.path]
  // A non-empty array reports its empty case as "index 0 is missing".
  const empty = first._tag === "Missing" && full[full.length - 1] === 0
  const param = formatPath(empty ? full.slice(0, -1) : full)
  const reason = empty ? "must not be empty" : clip(first.message)
  const message = param === "" ? `invalid request body: ${reason}` : `invalid '${param}': ${reason}`
  return invalidRequest(message, "invalid_request", param === "" ? undefined : param)
}

/**
 * A fast decoder for `schema` that fails with a 400 naming the field; with
 * `strict`, a field the schema does not know is one too.
 */
export const decoder = <A, I>(schema: Schema.Schema<A, I>, prefix = "", strict = false) => {
  const decode = Schema.decodeUnknownEither(schema, strict ? { onExcessProperty: "error" } : undefined)
  return (input: unknown): Either.Either<A, ApiError> => Either.mapLeft(decode(input), (e) => fromParseError(e, prefix))
}
