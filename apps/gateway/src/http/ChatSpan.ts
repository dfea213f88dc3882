/**
 * The server span of a chat call, while the tracer is on (`modelgate serve`
 * with an OTLP endpoint, or an embedder's own Tracer): named
 * `chat <model>` as OpenTelemetry's GenAI conventions name a chat call,
 * parented to the client's `traceparent` / `b3` header when it sent a valid
 * one (`TraceContext.ts`; a malformed one is ignored), and
 * covering the whole answer (a stream until its last event). Its attributes
 * follow those conventions (`gen_ai.*`: the model asked for and the one that
 * answered, the provider, the tokens, the finish reasons) with the gateway's
 * own under `modelgate.*` (request id, priority, agent and task type, cache,
 * failovers, cost). No message content and no header value is recorded.
 *
 * A call that fails, or a stream that breaks after its first byte, ends its
 * span as an error with `error.type` (the OpenAI error code) and the HTTP
 * status; a failed call that tried a model also names the last one tried
 * (`modelgate.model`), its provider, the failovers and the cost charged. A
 * request refused before its call (a bad body or key) opens none.
 * What a traced call logs carries its `trace_id` and `span_id`, so a log
 * line leads to its trace.
 *
 * `traceRequests` lets a server keep the tracer off for everything but its
 * calls (`modelgate serve`: no spans of background syncs, probes or record
 * writes, which would flood a tracing backend), each call's fiber then
 * running with the tracer on, and sample them: a call is traced when the
 * client's trace context says it is sampled (parent-based), else with the
 * sampler's ratio; an untraced call opens no span at all (its cost is nil).
 */
import type { Headers } from "@effect/platform"
import type { AnswerMeta, FailureMeta, StreamAnswer } from "@modelgate/core/Gateway"
import { genAiProvider } from "@modelgate/core/Gateway/AttemptSpan"
import type { ChatRequest, ChatResponse, Usage } from "@modelgate/domain/Chat"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Data, Effect, FiberRef, Option, type Tracer } from "effect"
import { globalValue } from "effect/GlobalValue"
import type { ApiError } from "./ApiError.js"
import * as TraceContext from "./TraceContext.js"

/**
 * Which calls are traced (OpenTelemetry's samplers): with `parentBased`, a
 * call whose client sent a trace context follows its sampled flag; any other
 * call is traced with probability `ratio` (1: every call, 0: none).
 */
export interface Sampling {
  readonly ratio: number
  readonly parentBased: boolean
}

/** Every call traced (OpenTelemetry's default, `parentbased_always_on`, for calls without a sampled-out parent). */
export const alwaysOn: Sampling = { ratio: 1, parentBased: true }

/**
 * How each chat call is sampled and traced with the tracer on for its own
 * fiber, whatever the server's tracer setting; unset, every call is traced
 * while the tracer is on where the chat handler is built.
 */
export const traceRequests: FiberRef.FiberRef<Sampling | undefined> = globalValue(
  Symbol.for("modelgate/http/ChatSpan/traceRequests"),
  () => FiberRef.unsafeMake<Sampling | undefined>(undefined)
)

/** How chat calls are sampled, read where the handler is built (see `traceRequests`); undefined: none is traced. */
export const callSampling: Effect.Effect<Sampling | undefined> = Effect.flatMap(FiberRef.get(traceRequests), (forced) =>
  forced !== undefined
    ? Effect.succeed(forced)
    : Effect.map(FiberRef.get(FiberRef.currentTracerEnabled), (enabled) => (enabled ? alwaysOn : undefined)))

/** A call to trace: in the client's trace (`parent`) when it sent one. */
export interface Traced {
  readonly parent: Tracer.ExternalSpan | undefined
}

const root: Traced = { parent: undefined }

/** Whether a call with `headers` is traced under `sampling`, and in which trace; undefined: not traced. */
export const decide = (sampling: Sampling | undefined, headers: Headers.Headers): Traced | undefined => {
  if (sampling === undefined || (sampling.ratio <= 0 && !sampling.parentBased)) return undefined
  const parent = TraceContext.fromHeaders(headers)
  if (parent !== undefined && sampling.parentBased) return parent.sampled ? { parent } : undefined
  if (sampling.ratio < 1 && Math.random() >= sampling.ratio) return undefined
  return parent !== undefined ? { parent } : root
}

/** Inside a traced call: a stream that broke after its first byte, failing its span (the answer was written). */
export class StreamBroke<A> extends Data.TaggedError("StreamBroke")<{ readonly error: ApiError; readonly answer: A }> {}

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
    "gen_ai.provider.name": genAiProvider(meta.provider),
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

/**
 * What a failed call did once it tried a model (`Gateway.failureMeta`), as its
 * error answer's `x-modelgate-*` headers say it: the last model tried (the
 * gateway's id, `modelgate.model`: no model answered, so no
 * `gen_ai.response.model`), its provider, the failovers and what it was charged.
 */
const tried = (meta: FailureMeta | undefined): Record<string, unknown> =>
  meta === undefined
    ? {}
    : {
      "modelgate.model": meta.model,
      "gen_ai.provider.name": genAiProvider(meta.provider),
      "modelgate.provider": meta.provider,
      "modelgate.failovers": meta.failovers,
      "modelgate.cost_usd": meta.costUsd
    }

/** Annotate the current span with the error the call answers (status and OpenAI error code) and, when it tried a model, what it did there. */
export const failed = (error: ApiError, meta?: FailureMeta): Effect.Effect<void> =>
  annotate({ ...tried(meta), "http.response.status_code": error.status, "error.type": error.code })

/** Annotate the current span with the error event a stream ended with (its status stays the 200 it was sent with). */
export const broke = (error: ApiError): Effect.Effect<void> => annotate({ "error.type": error.code })

/**
 * Run `answer` (a decoded call's answer, written to the client) in its
 * server span, in the client's trace when `traced` says so. A `StreamBroke`
 * it fails with ends the span as an error and is answered with its `answer`.
 */
export const traced = <A, E>(
  traced: Traced,
  request: ChatRequest,
  requirements: TaskRequirements,
  requestId: string,
  answer: Effect.Effect<A, E | StreamBroke<A>>
): Effect.Effect<A, E> => {
  // Its logs carry the trace (the span is the current one inside `withSpan`).
  const logged = Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
    Option.isSome(span) ? Effect.annotateLogs(answer, { trace_id: span.value.traceId, span_id: span.value.spanId }) : answer)
  const spanned = Effect.withSpan(logged, `chat ${request.model}`, {
    kind: "server",
    attributes: asked(request, requirements, requestId),
    captureStackTrace: false,
    ...(traced.parent !== undefined ? { parent: traced.parent } : {})
  })
  // On for the call's fiber (and what it forks): the tracer may be off for the rest of the server.
  return Effect.catchIf(
    Effect.withTracerEnabled(spanned, true),
    (e): e is StreamBroke<A> => e instanceof StreamBroke,
    (broke) => Effect.succeed(broke.answer)
  ) as Effect.Effect<A, E>
}
