/**
 * Tool-call ids a provider cannot take, rewritten before a call: each
 * provider has its own rule (OpenAI: at most 40 characters; Anthropic:
 * letters, digits, `_` and `-` only), and a conversation may carry ids that
 * another provider wrote before a failover, or that the client made up.
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import { createHash } from "node:crypto"

type Messages = ChatRequest["messages"]

/** A stable stand-in for `id`: `prefix` and a hash of it, `length` characters in all (letters, digits, `_`, `-`). */
export const stableToolId = (prefix: string, id: string, length: number): string =>
  `${prefix}${createHash("sha256").update(id).digest("base64url").slice(0, length - prefix.length)}`

/**
 * A tool-call id as an error message quotes it: as it is up to 64
 * characters, else its first 48 and its length (Gemini's ids carry a thought
 * signature of a few KB, Google/ThoughtSignatures.ts).
 */
export const shownToolId = (id: string): string => (id.length <= 64 ? id : `${id.slice(0, 48)}... (${id.length} characters)`)

const anyTaken = (messages: Messages, taken: (id: string) => boolean): boolean =>
  messages.some((m) =>
    m.role === "tool"
      ? !taken(m.tool_call_id)
      : m.role === "assistant" && m.tool_calls !== undefined && m.tool_calls.some((c) => !taken(c.id)))

/**
 * The history with every tool-call id the provider does not take (`taken`
 * false) replaced by `rewrite(id)`, in the assistant's calls and in the tool
 * messages alike, so each result still answers its call; the same array
 * when every id is taken.
 */
export const withToolIds = (messages: Messages, taken: (id: string) => boolean, rewrite: (id: string) => string): Messages => {
  if (!anyTaken(messages, taken)) return messages
  const fix = (id: string) => (taken(id) ? id : rewrite(id))
  return messages.map((m) =>
    m.role === "tool"
      ? { ...m, tool_call_id: fix(m.tool_call_id) }
      : m.role === "assistant" && m.tool_calls !== undefined
      ? { ...m, tool_calls: m.tool_calls.map((c) => ({ ...c, id: fix(c.id) })) }
      : m
  ) as unknown as Messages
}
