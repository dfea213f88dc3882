/**
 * Streamed tool-call deltas as OpenAI sends them, from OpenAI-compatible
 * servers that do not quite. OpenAI numbers each call of a choice 0, 1, ...
 * on every delta and opens each call with `type: "function"`, and clients
 * rely on both (the official client's stream helper fails without either):
 * Gemini's OpenAI-compatible endpoint, older Ollama `/v1`, mistral.rs and
 * some proxies send no `index`, vLLM no `type` on a named `tool_choice`.
 *
 * A delta without an index is numbered here: one with an id not seen yet
 * opens the choice's next call, one with a known id continues that call, and
 * one without an id (a later piece of arguments) continues the call last
 * streamed. A delta with its index keeps it. The first delta of each call
 * is its opening (where its type belongs).
 */

interface ChoiceCalls {
  /** The index of each call by its id. */
  readonly ids: Map<string, number>
  /** The indexes of the calls opened so far. */
  readonly opened: Set<number>
  /** One past the highest index seen: the next call's. */
  next: number
  /** The index of the call last streamed. */
  last: number | undefined
}

/** Where a tool-call delta belongs: its call's index, and whether it opens that call. */
export interface ToolCallPlace {
  readonly index: number
  readonly opens: boolean
}

/** The numbering of one stream's tool calls, per choice (see the module). */
export class ToolCallIndexes {
  private readonly choices = new Map<number, ChoiceCalls>()

  /** The place of `call`, a tool-call delta of choice `choice`. */
  place(choice: number, call: { readonly index?: number | null | undefined; readonly id?: string | null | undefined }): ToolCallPlace {
    let calls = this.choices.get(choice)
    if (calls === undefined) this.choices.set(choice, calls = { ids: new Map(), opened: new Set(), next: 0, last: undefined })
    const id = call.id ?? ""
    let index: number
    if (call.index != null) index = call.index
    else if (id !== "") index = calls.ids.get(id) ?? calls.next
    else index = calls.last ?? calls.next
    if (id !== "" && !calls.ids.has(id)) calls.ids.set(id, index)
    calls.next = Math.max(calls.next, index + 1)
    calls.last = index
    const opens = !calls.opened.has(index)
    if (opens) calls.opened.add(index)
    return { index, opens }
  }
}
