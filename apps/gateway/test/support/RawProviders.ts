/**
 * The four-provider stack with every provider replaced by a loopback server
 * that answers scripted raw bodies (exactly as a provider documents them),
 * recording each request it got.
 */
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Effect } from "effect"
import { serveAll } from "./FourProviderStack.js"

export interface Raw {
  readonly status?: number
  readonly contentType: string
  readonly body: string
  /** Destroy the connection after writing the body, instead of ending it cleanly (a reset mid-stream). */
  readonly reset?: boolean
  /** Keep the connection open after writing the body, never ending it (a provider that stalls after its last event). */
  readonly hold?: boolean
  /**
   * The rest of the body, written in a later network read: once `after`
   * resolves (e.g. when the client saw the first text, see `postOpening`),
   * before the end, the reset or the hold.
   */
  readonly rest?: { readonly after: Promise<unknown>; readonly body: string }
}

/** A promise the test resolves (`open`) when it decides: the moment a `Raw.rest` is written. */
export const gate = () => {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

/**
 * A streamed chat call read as it arrives: `onSeen` is called once the body
 * read so far includes `marker` (the client has it: the gateway wrote it),
 * then the body is read to its end.
 */
export const postOpening = (url: string, body: unknown, marker: string, onSeen: () => void, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body)
    })
    const reader = r.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    let seen = false
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
      if (!seen && text.includes(marker)) {
        seen = true
        onSeen()
      }
    }
    if (!seen) onSeen()
    return { status: r.status, headers: r.headers, text }
  })

export const rawServer = () =>
  Effect.gen(function* () {
    const queue: Array<Raw> = []
    const server = yield* LoopbackServer.make((_request, res) => {
      const answer = queue.shift()
      if (answer === undefined) {
        res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "no scripted answer" } }))
        return
      }
      res.writeHead(answer.status ?? 200, { "content-type": answer.contentType })
      const finish = (body: string) => {
        if (answer.reset === true) body === "" ? res.socket?.destroy() : res.write(body, () => res.socket?.destroy())
        else if (answer.hold === true) res.write(body)
        else res.end(body)
      }
      const rest = answer.rest
      if (rest === undefined) return finish(answer.body)
      res.write(answer.body)
      void rest.after.then(() => finish(rest.body))
    })
    return {
      url: server.url,
      requests: server.requests,
      script: (...answers: ReadonlyArray<Raw>) => {
        queue.push(...answers)
      },
      lastBody: () => JSON.parse(server.requests[server.requests.length - 1]!.body) as Record<string, any>
    }
  })

export const serveRaw = (gatewayExtra: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const openai = yield* rawServer()
    const google = yield* rawServer()
    const ollama = yield* rawServer()
    const anthropic = yield* rawServer()
    const stack = yield* serveAll(gatewayExtra, {
      openai: `${openai.url}/v1`,
      google: google.url,
      ollama: ollama.url,
      anthropic: anthropic.url
    })
    return { url: stack.url, db: stack.db, openai, google, ollama, anthropic }
  })

export const sseBody = (events: ReadonlyArray<unknown>, eol = "\n") =>
  events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}${eol}${eol}`).join("")

export const ndjson = (lines: ReadonlyArray<unknown>) => lines.map((l) => JSON.stringify(l)).join("\n") + "\n"

export const openaiSse = (events: ReadonlyArray<unknown>): Raw => ({ contentType: "text/event-stream", body: sseBody([...events, "[DONE]"]) })
export const geminiSse = (events: ReadonlyArray<unknown>): Raw => ({ contentType: "text/event-stream", body: sseBody(events, "\r\n") })
export const ollamaNdjson = (lines: ReadonlyArray<unknown>): Raw => ({ contentType: "application/x-ndjson", body: ndjson(lines) })
export const json = (body: unknown): Raw => ({ contentType: "application/json", body: JSON.stringify(body) })

/** The parsed `data:` payloads of an SSE body (without [DONE]). */
export const chunksOf = (text: string): Array<any> =>
  text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).filter((d) => d !== "[DONE]").map((d) => JSON.parse(d))

/** Tool calls reassembled per choice from OpenAI stream chunks, the way the official client does (by index). */
export const reassemble = (chunks: ReadonlyArray<any>) => {
  const choices = new Map<number, { calls: Map<number, { id?: string; type?: string; name: string; arguments: string }>; finish?: string; content: string; role?: string }>()
  for (const c of chunks) {
    for (const ch of c.choices ?? []) {
      let st = choices.get(ch.index)
      if (st === undefined) choices.set(ch.index, st = { calls: new Map(), content: "" })
      if (ch.delta?.role) st.role = ch.delta.role
      if (typeof ch.delta?.content === "string") st.content += ch.delta.content
      for (const t of ch.delta?.tool_calls ?? []) {
        const known = st.calls.get(t.index) ?? { name: "", arguments: "" }
        st.calls.set(t.index, {
          ...(t.id !== undefined ? { id: t.id } : known.id !== undefined ? { id: known.id } : {}),
          ...(t.type !== undefined ? { type: t.type } : known.type !== undefined ? { type: known.type } : {}),
          name: known.name + (t.function?.name ?? ""),
          arguments: known.arguments + (t.function?.arguments ?? "")
        })
      }
      if (ch.finish_reason != null) st.finish = ch.finish_reason
    }
  }
  return choices
}
