/**
 * The server span of a chat call, while the tracer is on (`modelgate serve`
 * with an OTLP endpoint, or an embedder's own Tracer): named
 * `chat <model>` as OpenTelemetry's GenAI conventions name a chat call,
 * parented to the client's `traceparent` / `b3` header when it sent one, and
 * covering the whole answer (a stream until its last event). Its attributes
 * follow those conventions (`gen_ai.*`: the model asked for and the one that
 * answered, the provider, the tokens, the finish reasons) with the gateway's
 * own under `modelgate.*` (request id, priority, agent and task type, cache,
 * failovers, cost). No message content and no header value is recorded.
 *
 * A call that fails, or a stream that breaks after its first byte, ends its
 * span as an error with `error.type` (the OpenAI error code) and the HTTP
 * status. A request refused before its call (a bad body or key) opens none.
 *
 * `traceRequests` lets a server keep the tracer off for everything but its
 * calls (`modelgate serve`: no spans of background syncs, probes or record
 * writes, which would flood a tracing backend), each call's fiber then
 * running with the tracer on.
 */
import type { Headers } from "@effect/platform"
import { HttpTraceContext } from "@effect/platform"
import type { AnswerMeta, StreamAnswer } from "@modelgate/core/Gateway"
import type { ChatRequest, ChatResponse, Usage } from "@modelgate/domain/Chat"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Data, Effect, FiberRef, Option } from "effect"
import { globalValue } from "effect/GlobalValue"
import type { ApiError } from "./ApiError.js"

/**
 * Whether each chat call is traced with the tracer on for its own fiber
 * (true), whatever the server's tracer setting; unset, calls are traced while
 * the tracer is on where the chat handler is built.
 */
export const traceRequests: FiberRef.FiberRef<boolean | undefined> = globalValue(
  Symbol.for("modelgate/http/ChatSpan/traceRequests"),
  () => FiberRef.unsafeMake<boolean | undefined>(undefined)
)

/** Whether chat calls get their span, read where the handler is built (see `traceRequests`). */
export const tracingCalls: Effect.Effect<boolean> = Effect.flatMap(FiberRef.get(traceRequests), (forced) =>
  forced !== undefined ? Effect.succeed(forced) : FiberRef.get(FiberRef.currentTracerEnabled))

/** Inside a traced call: a stream that broke after its first byte, failing its span (the answer was written). */
export class StreamBroke<A> extends Data.TaggedError("StreamBroke")<{ readonly error: ApiError; readonly answer: A }> {}

/** The provider name of OpenTelemetry's GenAI conventions (`gen_ai.provider.name`) for a provider id. */
const providerName = (provider: string): string => (provider === "google" ? "gcp.gemini" : provider)

const defined = (attributes: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key in attributes) if (attributes[key] !== undefined) out[key] = attributes[key]
  return out
}

/** The attributes a call's span starts with: what was asked. */
const asked = (request: ChatRequest, requirements: TaskRequirements, requestId: string): Record<string, unknown> =>
  defined({
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": request.model,
    "gen_ai.request.max_tokens": request.max_completion_tokens ?? request.max_tokens ?? undefined,
    "gen_ai.request.temperature": request.temperature ?? undefined,
    "gen_ai.request.top_p": request.top_p ?? undefined,
    "http.request.method": "POST",
    "http.route": "/v1/chat/completions",
    "modelgate.request_id": requestId,
    "modelgate.stream": request.stream === true,
    "modelgate.priority": requirements.priority,
    "modelgate.agent_type": requirements.agentType,
    "modelgate.task_type": requirements.taskType
  })

/** The attributes of an answer's metadata (who answered, from where, after how many failovers). */
const answeredBy = (meta: AnswerMeta): Record<string, unknown> =>
  defined({
    "gen_ai.response.model": meta.model,
    "gen_ai.provider.name": providerName(meta.provider),
    "modelgate.provider": meta.provider,
    "modelgate.cache": meta.cacheHit ? "hit" : "miss",
    "modelgate.failovers": meta.failovers,
    "modelgate.cost_usd": meta.costUsd
  })

const usageOf = (usage: Usage | undefined): Record<string, unknown> =>
  usage === undefined
    ? {}
    : defined({
      "gen_ai.usage.input_tokens": usage.prompt_tokens,
      "gen_ai.usage.output_tokens": usage.completion_tokens,
      "modelgate.usage_estimated": usage.estimated === true ? true : undefined
    })

const annotate = (attributes: Record<string, unknown>): Effect.Effect<void> => Effect.annotateCurrentSpan(attributes)

/** Annotate the current span with a complete answer: who answered, its id, tokens, finish reasons and cost. */
export const completed = (meta: AnswerMeta, response: ChatResponse): Effect.Effect<void> =>
  annotate({
    ...answeredBy(meta),
    ...usageOf(response.usage),
    "gen_ai.response.id": response.id,
    "gen_ai.response.finish_reasons": response.choices.map((c) => c.finish_reason ?? "unknown"),
    "http.response.status_code": 200
  })

/** Annotate the current span with a stream whose headers are going out: who answers it. */
export const streaming = (answer: StreamAnswer): Effect.Effect<void> =>
  annotate({ ...answeredBy(answer.meta), "http.response.status_code": 200 })

/** Annotate the current span with a written stream's settled cost and usage. */
export const streamed = (answer: StreamAnswer): Effect.Effect<void> => {
  const cost = answer.settledCostUsd?.()
  return annotate({ ...usageOf(answer.settledUsage?.()), ...(cost === undefined ? {} : { "modelgate.cost_usd": cost }) })
}

/** Annotate the current span with the error the call answers (status and OpenAI error code). */
export const failed = (error: ApiError): Effect.Effect<void> =>
  annotate({ "http.response.status_code": error.status, "error.type": error.code })

/**
 * Run `answer` (a decoded call's answer, written to the client) in its
 * server span, parented to the trace context of `headers` when they carry
 * one. A `StreamBroke` it fails with ends the span as an error and is
 * answered with its `answer`.
 */
export const traced = <A, E>(
  headers: Headers.Headers,
  request: ChatRequest,
  requirements: TaskRequirements,
  requestId: string,
  answer: Effect.Effect<A, E | StreamBroke<A>>
): Effect.Effect<A, E> => {
  const parent = HttpTraceContext.fromHeaders(headers)
  const spanned = Effect.withSpan(answer, `chat ${request.model}`, {
    kind: "server",
    attributes: asked(request, requirements, requestId),
    captureStackTrace: false,
    ...(Option.isSome(parent) ? { parent: parent.value } : {})
  })
  // On for the call's fiber (and what it forks): the tracer may be off for the rest of the server.
  return Effect.catchIf(
    Effect.withTracerEnabled(spanned, true),
    (e): e is StreamBroke<A> => e instanceof StreamBroke,
    (broke) => Effect.succeed(broke.answer)
  ) as Effect.Effect<A, E>
}
