/**
 * A small fetch client for tests over a real socket.
 */
import { Effect } from "effect"
import { baseUrl } from "./Doubles.js"

/** A response read in full. */
export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** What a test request sends besides its path. */
export interface Init {
  readonly method?: string
  readonly body?: string | Uint8Array
  readonly headers?: Record<string, string>
}

/** Send a request to the server at `url` and read the whole answer. */
export const requestAt = (url: string, path: string, init: Init = {}) =>
  Effect.promise(async (): Promise<Reply> => {
    const response = await fetch(`${url}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { "content-type": "application/json", ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body })
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, text, json: parse(text) }
  })

/** Send a request to the test server and read the whole answer. */
export const request = (path: string, init: Init = {}) => Effect.flatMap(baseUrl, (url) => requestAt(url, path, init))

/** POST a JSON value. */
export const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(path, { method: "POST", body: JSON.stringify(body), headers })

/** A minimal valid chat body. */
export const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: "auto",
  messages: [{ role: "user", content: "hello" }],
  ...extra
})

/**
 * Read the SSE body of `GET path` until `enough` makes something of the text
 * received so far, then close the connection and return it with the
 * response's content type and headers.
 */
export const readSseText = <A>(
  path: string,
  headers: Record<string, string>,
  enough: (text: string) => A | undefined
) =>
  Effect.flatMap(baseUrl, (url) =>
    Effect.promise(async (): Promise<{ readonly contentType: string | null; readonly headers: Headers; readonly value: A | undefined }> => {
      const controller = new AbortController()
      const response = await fetch(`${url}${path}`, { headers, signal: controller.signal })
      const decoder = new TextDecoder()
      let text = ""
      try {
        for await (const part of response.body!) {
          text += decoder.decode(part, { stream: true })
          const value = enough(text)
          if (value !== undefined) return { contentType: response.headers.get("content-type"), headers: response.headers, value }
        }
        return { contentType: response.headers.get("content-type"), headers: response.headers, value: undefined }
      } finally {
        controller.abort()
      }
    }))

/**
 * Read the SSE body of `GET path` until `enough` makes something of the
 * `data:` payloads received so far (parsed JSON, oldest first), then close the
 * connection and return it with the response's content type and headers.
 */
export const readSse = <A>(
  path: string,
  headers: Record<string, string>,
  enough: (data: ReadonlyArray<any>) => A | undefined
) =>
  readSseText(path, headers, (text) => enough(text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)))))
