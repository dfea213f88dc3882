/**
 * ResponseCache: key = SHA-256 of the canonical request; TTL; LRU by entries
 * and bytes; SQL behind a memory LRU.
 *
 * Contract (implementation: accounting issue). Never fails: a store error is
 * logged and reads as a miss.
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import { Context, type Effect, type Option } from "effect"

/** The response cache. */
export class ResponseCache extends Context.Tag("@modelgate/core/ResponseCache")<
  ResponseCache,
  {
    /** The canonical key of `request` on `model` (the registry id, or the resolved model for `auto`). */
    readonly key: (request: ChatRequest, model: string) => string
    /** Whether this request may be cached at all (config: enabled, temperature). */
    readonly cacheable: (request: ChatRequest) => Effect.Effect<boolean>
    readonly get: (key: string) => Effect.Effect<Option.Option<ChatResponse>>
    /** Store with the config TTL, or `ttlMs` when given. */
    readonly set: (key: string, response: ChatResponse, ttlMs?: number) => Effect.Effect<void>
  }
>() {}
