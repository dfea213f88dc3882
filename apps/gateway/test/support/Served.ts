/**
 * `HttpApp.serve` (the listener `modelgate serve` runs), or `HttpApp.layer`
 * on a host's server, on port 0 in a scope of its own, and a raw HTTP/1.1
 * client over `node:net` for what fetch cannot do: send slowly, pipeline,
 * stop mid-body, watch the connection close.
 */
import { HttpServer } from "@effect/platform"
import type { Gateway } from "@modelgate/core/Gateway"
import { ConfigProvider, Context, Effect, Layer, Scope } from "effect"
import * as Net from "node:net"
import * as HttpApp from "../../src/HttpApp.js"
import { type ServerOptions, serverLayer, services } from "./Doubles.js"

/** A running server (`serveWith`, `embedWith`) and the scope that shuts it down. */
export interface Served {
  readonly scope: Scope.CloseableScope
  readonly port: number
}

/** Start `HttpApp.serve` with `gateway`, the test services' `options` (`MODELGATE_MASTER_KEY` from `masterKey` only) and Node `timeouts`. */
export const serveWith = (
  gateway: Gateway["Type"],
  options: ServerOptions = {},
  timeouts?: Partial<HttpApp.NodeTimeouts>
): Effect.Effect<Served> =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      HttpApp.serve({ port: 0, host: "127.0.0.1", timeouts }).pipe(
        Layer.provide(services(gateway, options)),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(options.masterKey === undefined ? [] : [["MODELGATE_MASTER_KEY", options.masterKey]]))))
      ),
      scope
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    return { scope, port: address._tag === "TcpAddress" ? address.port : 0 }
  }).pipe(Effect.orDie)

/**
 * Start `HttpApp.layer` on a host's own `http.createServer()` (as a library
 * user embeds the app) with `gateway` and the test services' `options`.
 */
export const embedWith = (gateway: Gateway["Type"], options: ServerOptions = {}): Effect.Effect<Served> =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(serverLayer(gateway, options), scope)
    const address = Context.get(context, HttpServer.HttpServer).address
    return { scope, port: address._tag === "TcpAddress" ? address.port : 0 }
  }).pipe(Effect.orDie)

/** A raw connection: what it received so far, and whether the server closed it. */
export interface Raw {
  readonly socket: Net.Socket
  /** Everything received, as text. */
  readonly received: () => string
  /** Completes once the server closed the connection (or it failed), with everything received. */
  readonly closed: Effect.Effect<string>
  /** Completes once `received()` holds `text` `times` times; fails on close first. */
  readonly waitFor: (text: string, times?: number) => Effect.Effect<string, string>
}

const count = (text: string, part: string): number => text.split(part).length - 1

/** Connect to 127.0.0.1:`port` and write `first` (if any). */
export const connect = (port: number, first?: string): Effect.Effect<Raw> =>
  Effect.async<Raw>((resume) => {
    let text = ""
    let ended = false
    const listeners = new Set<() => void>()
    const socket = Net.connect(port, "127.0.0.1", () => {
      if (first !== undefined) socket.write(first)
      resume(Effect.succeed(raw))
    })
    const notify = () => listeners.forEach((f) => f())
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      text += chunk
      notify()
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      ended = true
      notify()
    })
    const on = <A, E>(check: () => Effect.Effect<A, E> | undefined): Effect.Effect<A, E> =>
      Effect.async<A, E>((done) => {
        const f = () => {
          const out = check()
          if (out === undefined) return
          listeners.delete(f)
          done(out)
        }
        listeners.add(f)
        f()
        return Effect.sync(() => listeners.delete(f))
      })
    const raw: Raw = {
      socket,
      received: () => text,
      closed: on(() => (ended ? Effect.succeed(text) : undefined)),
      waitFor: (part, times = 1) =>
        on(() => (count(text, part) >= times ? Effect.succeed(text) : ended ? Effect.fail(`closed first; received: ${text}`) : undefined))
    }
  })

/** A chat request's head: `POST /v1/chat/completions` with `headers` (lines without CRLF). */
export const chatHead = (...headers: ReadonlyArray<string>): string =>
  `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`
