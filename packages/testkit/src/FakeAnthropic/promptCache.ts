/**
 * Anthropic's prompt cache, as the fake keeps it: the prompt is read in
 * order (tools, system blocks, message blocks); the part up to the last block
 * with `cache_control` is the cached prefix. A prefix seen before on the same
 * model is read from the cache, a new one written to it, one under the
 * minimum (1,024 tokens) neither; a write lives an hour when the last
 * breakpoint says `ttl: "1h"`. At most 4 breakpoints, as the API allows.
 */
import { createHash } from "node:crypto"
import { asRecord, countTokens } from "../FakeServer/reply.js"
import type { FakeCache } from "./answer.js"

/** The smallest prefix Anthropic caches (Sonnet and Opus; Haiku's is larger). */
export const minimumCachedTokens = 1_024

const blocksOf = (content: unknown): ReadonlyArray<unknown> => (Array.isArray(content) ? content : content === undefined ? [] : [content])

const hasBreakpoint = (segment: unknown): boolean => asRecord(segment)?.["cache_control"] !== undefined

/** The prompt's segments in cache order: tools, system blocks, then every message's blocks. */
const segmentsOf = (body: Record<string, unknown>): ReadonlyArray<unknown> => [
  ...blocksOf(body["tools"]),
  ...blocksOf(body["system"]),
  ...(Array.isArray(body["messages"]) ? body["messages"].flatMap((m) => blocksOf(asRecord(m)?.["content"])) : [])
]

/** A problem with the breakpoints (more than 4), as the API words it, or undefined. */
export const breakpointProblem = (body: Record<string, unknown>): string | undefined => {
  const count = segmentsOf(body).filter(hasBreakpoint).length
  return count > 4 ? `A maximum of 4 blocks with cache_control may be provided. Found ${count}.` : undefined
}

/** A fake prompt cache: what a request reads from and writes to it (none when it has no breakpoint). */
export const makePromptCache = () => {
  const written = new Set<string>()
  return (body: Record<string, unknown>): FakeCache | undefined => {
    const segments = segmentsOf(body)
    let last = -1
    segments.forEach((segment, i) => {
      if (hasBreakpoint(segment)) last = i
    })
    if (last < 0) return undefined
    const prefix = JSON.stringify(segments.slice(0, last + 1))
    const tokens = countTokens(prefix)
    if (tokens < minimumCachedTokens) return { read: 0, creation: 0 }
    const key = createHash("sha256").update(`${String(body["model"])}\n${prefix}`).digest("hex")
    if (written.has(key)) return { read: tokens, creation: 0 }
    written.add(key)
    const hour = asRecord(asRecord(segments[last])?.["cache_control"])?.["ttl"] === "1h"
    return { read: 0, creation: tokens, hour: hour ? tokens : 0 }
  }
}
