/**
 * The data a fake server works with: recorded requests, a provider's normal
 * answers, and the scripted faults that replace them.
 */
import type { Effect } from "effect"


/** A request the fake received, as it arrived on the socket. */
export interface RecordedRequest {
  readonly method: string
  /** Path and query string (`/v1/chat/completions`, `/v1beta/models/x:streamGenerateContent?alt=sse`). */
  readonly path: string
  /** Header names are lower case. */
  readonly headers: Readonly<Record<string, string>>
  /** The raw body text. */
  readonly body: string
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  readonly json: unknown
}

/**
 * A provider fake's normal answer to one request.
 * - `Json`: one JSON body (status may be an error the fake decided itself, e.g. a missing key).
 * - `Stream`: a streamed body, written chunk by chunk (each chunk a complete SSE event or
 *   NDJSON line, including its separators); the last `terminalChunks` chunks are the
 *   provider's terminal event(s) (`data: [DONE]`, `message_stop`, `done: true`), which a
 *   `cut` fault leaves out.
 * `tokens` is what the answer costs against the fake's tpm limit; answers without it
 * (model lists, auth errors) are not metered at all.
 */
export type Answer =
  | {
    readonly _tag: "Json"
    readonly status: number
    readonly body: unknown
    readonly headers?: Readonly<Record<string, string>>
    readonly tokens?: number
  }
  | {
    readonly _tag: "Stream"
    readonly contentType: string
    readonly chunks: ReadonlyArray<string>
    readonly terminalChunks: number
    readonly headers?: Readonly<Record<string, string>>
    readonly tokens?: number
  }

/** A provider's error answer: body text and headers. */
export interface ErrorAnswer {
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
}

/** What a provider fake plugs into `FakeServer.make`. */
export interface FakeProvider {
  /** Shown in logs and default error messages (`openai`). */
  readonly name: string
  /** The normal answer to a request (auth, validation, routing included). */
  readonly handle: (request: RecordedRequest) => Answer
  /**
   * The provider's own error body and headers for a status: used for `status`
   * faults without a body and for the built-in rate limit's 429 (then
   * `retryAfterMs` is set and the provider's retry headers should carry it).
   */
  readonly errorAnswer: (error: { readonly status: number; readonly message: string; readonly retryAfterMs?: number }) => ErrorAnswer
}

/**
 * A scripted fault, replacing (or altering) the normal answer to one request.
 * Build them with the `Fault` constructors.
 */
export type Fault =
  | {
    readonly _tag: "Status"
    readonly status: number
    /** Raw text, or a value sent as JSON; absent: the provider's `errorAnswer`. */
    readonly body?: string | object
    readonly message?: string
    readonly headers?: Readonly<Record<string, string>>
  }
  | {
    readonly _tag: "Delay"
    /** Wait before sending the status line and headers. */
    readonly headersMs?: number
    /** Wait after the headers, before the first body byte. */
    readonly firstByteMs?: number
    /** Wait between stream chunks. */
    readonly chunkMs?: number
  }
  | {
    readonly _tag: "Cut"
    /** Stream: send this many chunks (default: all but the terminal ones), then end cleanly. JSON: send half the body. */
    readonly afterChunks?: number
    /**
     * Stream: end only once this latch is open (in a later network read than
     * the chunks before it: e.g. once the client has the first text).
     * Absent: at once, in the same read as them, most likely.
     */
    readonly gate?: Effect.Latch
  }
  | {
    readonly _tag: "Reset"
    /** Destroy the socket before the headers (default), or after this many stream chunks. */
    readonly afterChunks?: number
  }
  | {
    readonly _tag: "Body"
    /** Send this raw body instead of the answer (malformed JSON, an HTML error page). */
    readonly status: number
    readonly body: string
    readonly contentType: string
  }
  | {
    readonly _tag: "Inject"
    /** Stream: after this many chunks write `chunk` (a mid-stream error event) and end. */
    readonly afterChunks: number
    readonly chunk: string
    /**
     * Write `chunk` only once this latch is open (in a later network read
     * than the chunks before it: e.g. once the client has the first text).
     * Absent: at once, in the same read as them, most likely.
     */
    readonly gate?: Effect.Latch
  }
  | {
    readonly _tag: "Hold"
    /** The request waits (before any byte of its answer) until this latch is open. */
    readonly gate: Effect.Latch
    /** Applied once the gate opens (absent: the normal answer). */
    readonly then?: Fault
  }

/** Constructors of scripted faults. */
export const Fault = {
  /** Answer with this status; the body defaults to the provider's own error body. */
  status: (
    status: number,
    options?: { readonly body?: string | object; readonly message?: string; readonly headers?: Readonly<Record<string, string>> }
  ): Fault => ({ _tag: "Status", status, ...options }),
  /** Latency before headers, time to first byte, delay between stream chunks; then the normal answer. */
  delay: (options: { readonly headersMs?: number; readonly firstByteMs?: number; readonly chunkMs?: number }): Fault => ({
    _tag: "Delay",
    ...options
  }),
  /**
   * End the stream before its terminal event (or after `afterChunks`); a JSON
   * body is truncated. With a `gate` (an `Effect.makeLatch(false)`), the
   * stream's end waits until the test opens it.
   */
  cut: (afterChunks?: number, gate?: Effect.Latch): Fault => ({
    _tag: "Cut",
    ...(afterChunks === undefined ? {} : { afterChunks }),
    ...(gate === undefined ? {} : { gate })
  }),
  /** Destroy the connection (before headers, or once `afterChunks` stream chunks have gone out; JSON: half the body). */
  reset: (afterChunks?: number): Fault => (afterChunks === undefined ? { _tag: "Reset" } : { _tag: "Reset", afterChunks }),
  /** A 200 with a body that is not JSON. */
  malformedJson: (body = "{\"id\": \"broken\", \"choices\": [ {\"index\": 0,"): Fault => ({
    _tag: "Body",
    status: 200,
    body,
    contentType: "application/json"
  }),
  /** An HTML error page (the kind a proxy or load balancer sends). */
  html: (status = 502): Fault => ({
    _tag: "Body",
    status,
    body: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
    contentType: "text/html"
  }),
  /**
   * A raw chunk (a provider's mid-stream error event) after `afterChunks`
   * chunks; the stream then ends. With a `gate` (an `Effect.makeLatch(false)`),
   * the chunk waits until the test opens it.
   */
  inject: (afterChunks: number, chunk: string, gate?: Effect.Latch): Fault =>
    gate === undefined ? { _tag: "Inject", afterChunks, chunk } : { _tag: "Inject", afterChunks, chunk, gate },
  /**
   * Hold the request (recorded, nothing answered yet) until `gate` opens, then
   * answer normally or apply `then`. The test decides when the answer leaves,
   * independently of any clock: wait until the fake holds the requests
   * (`FakeServer.awaitHeld`), move `TestClock`, then `gate.open`.
   * `gate` is an `Effect.makeLatch(false)`; an open gate holds nothing.
   */
  hold: (gate: Effect.Latch, then?: Fault): Fault => (then === undefined ? { _tag: "Hold", gate } : { _tag: "Hold", gate, then })
} as const

/** A rate limit the fake enforces itself over a 60 s real sliding window. */
export interface FakeRateLimit {
  readonly rpm?: number
  readonly tpm?: number
}
