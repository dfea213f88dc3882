/**
 * Writing an answer (or a fault) onto a node:http response, with delays
 * through Effect (the caller runs it on the live clock).
 */
import type * as Http from "node:http"
import { Effect } from "effect"
import type { Answer, ErrorAnswer, Fault } from "./types.js"

const sleep = (ms: number | undefined) => (ms !== undefined && ms > 0 ? Effect.sleep(ms) : Effect.void)

const write = (res: Http.ServerResponse, text: string) => Effect.sync(() => res.write(text))

const end = (res: Http.ServerResponse, text?: string) =>
  Effect.sync(() => {
    if (text === undefined) res.end()
    else res.end(text)
  })

/** Destroy the connection under the response. */
export const destroy = (res: Http.ServerResponse) => Effect.sync(() => res.socket?.destroy())

/**
 * Write `text`, then destroy the connection once it has gone out: node:http
 * holds a chunked write until the next tick, so a destroy in the same tick
 * would drop it (a provider's reset after n chunks has sent those n chunks).
 */
const writeThenDestroy = (res: Http.ServerResponse, text: string) =>
  text.length === 0 ? destroy(res) : Effect.async<void>((resume) => {
    res.write(text, () => {
      res.socket?.destroy()
      resume(Effect.void)
    })
  })

/** Send an error answer with its status. */
export const sendError = (res: Http.ServerResponse, status: number, error: ErrorAnswer) =>
  Effect.sync(() => {
    res.writeHead(status, { "content-type": "application/json", ...error.headers })
    res.end(error.body)
  })

/** Send a raw body. */
export const sendRaw = (
  res: Http.ServerResponse,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>>
) =>
  Effect.sync(() => {
    res.writeHead(status, headers)
    res.end(body)
  })

/** Write the normal answer, altered by a Delay / Cut / Reset / Inject fault when one applies. */
export const sendAnswer = (res: Http.ServerResponse, answer: Answer, fault: Fault | undefined) =>
  Effect.gen(function*() {
    const delay = fault?._tag === "Delay" ? fault : undefined
    yield* sleep(delay?.headersMs)
    if (answer._tag === "Json") {
      const text = JSON.stringify(answer.body)
      yield* Effect.sync(() => {
        res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers })
        res.flushHeaders()
      })
      yield* sleep(delay?.firstByteMs)
      if (fault?._tag === "Reset" && fault.afterChunks !== undefined) {
        return yield* writeThenDestroy(res, text.slice(0, Math.floor(text.length / 2)))
      }
      if (fault?._tag === "Cut") return yield* end(res, text.slice(0, Math.floor(text.length / 2)))
      return yield* end(res, text)
    }
    yield* Effect.sync(() => {
      res.writeHead(200, {
        "content-type": answer.contentType,
        "cache-control": "no-cache",
        ...answer.headers
      })
      res.flushHeaders()
    })
    yield* sleep(delay?.firstByteMs)
    const limit = fault?._tag === "Cut"
      ? fault.afterChunks ?? Math.max(0, answer.chunks.length - answer.terminalChunks)
      : fault?._tag === "Reset" || fault?._tag === "Inject"
      ? fault.afterChunks ?? 0
      : answer.chunks.length
    const chunks = answer.chunks.slice(0, limit)
    const reset = fault?._tag === "Reset"
    for (let i = 0; i < chunks.length; i++) {
      if (i > 0) yield* sleep(delay?.chunkMs)
      if (reset && i === chunks.length - 1) return yield* writeThenDestroy(res, chunks[i]!)
      yield* write(res, chunks[i]!)
    }
    if (reset) return yield* destroy(res)
    if ((fault?._tag === "Inject" || fault?._tag === "Cut") && fault.gate !== undefined) yield* fault.gate.await
    if (fault?._tag === "Inject") return yield* end(res, fault.chunk)
    return yield* end(res)
  })
