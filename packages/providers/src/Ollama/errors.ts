/**
 * How Ollama failures are classified. Its error body is `{"error": "..."}`
 * (no type or code) and it sends no rate-limit headers: the status decides,
 * with the message kept as detail. 404 (`model "x" not found, try pulling it
 * first`, or a base URL with a path Ollama does not serve) is the server's
 * setup, not the request: an unreachable Transport, as a server that is not
 * running, so the request fails over at once and the model is taken out. 400
 * is BadRequest, 429 RateLimited, 503 (`server busy ... maximum pending
 * requests exceeded`) Overloaded, 500 / 502 ServerError. A 500 whose message
 * says the model needs more memory than the server has free is the server's
 * setup for that model, as a 404 is: an unreachable Transport (not retried on
 * the same server; the failover moves on, and the server's other models,
 * which may fit, are untouched: health is per model); so is a 500 saying
 * the model may be incompatible with the server's version (each retry would
 * load it again, and fail again). A 400 whose message says the
 * request exceeds the context size (what `truncate: false` answers instead of
 * silently dropping the start of the conversation) is ContextLengthExceeded.
 */
import { ContextLengthExceeded, Overloaded, type ProviderError, ServerError } from "@modelgate/domain/ProviderError"
import { Option, Schema } from "effect"
import { badRequest, type CommonFields, detailOf, type ErrorContext, excerpt, fieldsOf, genericError, notServed, standardRetryAfter } from "../internal/index.js"
import { WireErrorBody } from "./wire.js"

const decodeError = Schema.decodeUnknownOption(Schema.parseJson(WireErrorBody))

/** Classify a non-2xx Ollama answer. */
export const classify = (ctx: ErrorContext): ProviderError => {
  const message = Option.getOrUndefined(decodeError(ctx.body))?.error
  const detail = detailOf(ctx, message)
  if (ctx.status === 400 && message !== undefined && contextPattern.test(message)) return new ContextLengthExceeded(fieldsOf(ctx, detail))
  if (ctx.status === 404) return notServed(fieldsOf(ctx, detail), "not served by this Ollama server (is the model pulled?)")
  if (ctx.status === 500 && message !== undefined && memoryPattern.test(message)) {
    return notServed(fieldsOf(ctx, detail), "this Ollama server lacks the memory to load the model")
  }
  if (ctx.status === 500 && message !== undefined && incompatiblePattern.test(message)) {
    return notServed(fieldsOf(ctx, detail), "this Ollama server's version cannot load the model")
  }
  return genericError(ctx, detail, standardRetryAfter(ctx.headers, ctx.nowMs))
}

/**
 * Ollama's words for a prompt over the context size, each engine's own:
 * llama-server's (`exceed_context_size_error`, "exceeds the available
 * context size"), the Go runners' ("the input length exceeds the context
 * length") and the MLX engine's ("input length (N tokens) exceeds the
 * model's maximum context length (M tokens)").
 */
const contextPattern = /exceed_context_size|exceeds the (available |model's maximum )?context (size|length)/i

/**
 * Ollama's words for a model that does not fit the memory the server has
 * free (`model requires more system memory (X GiB) than is available (Y GiB)`,
 * older `model requires more memory`; a runner that failed to allocate).
 */
const memoryPattern = /requires more (system )?memory|not enough memory|insufficient memory|out of memory|memory layout cannot be allocated/i

/**
 * Ollama's words for a model its version cannot load (`server/sched.go`: an
 * unsupported model format, a model that failed to load): "this model may be
 * incompatible with your version of Ollama".
 */
const incompatiblePattern = /incompatible with your version of Ollama/i

/** Classify an `{"error": "..."}` line written after the stream began (status 200). */
export const classifyStreamError = (message: string, base: Omit<CommonFields, "detail">, secrets: ReadonlyArray<string>): ProviderError => {
  const fields = { ...base, detail: excerpt(message, secrets) }
  if (/server busy|maximum pending/i.test(message)) return new Overloaded({ ...fields, retryAfterMs: undefined })
  if (/not found|does not support|invalid/i.test(message)) return badRequest(fields, message)
  return new ServerError(fields)
}
