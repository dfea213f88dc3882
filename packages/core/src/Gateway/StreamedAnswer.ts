/**
 * The streamed answer of a request that the cache did not answer: selection
 * and failover until the first chunk, then the client's stream, watched for
 * abandonment (`Abandon.ts`) and settled once when it ends (`Streaming.ts`).
 */
import type { ChatRequest, Usage } from "@modelgate/domain/Chat"
import { type PicoUsd, toUsd } from "@modelgate/domain/Money"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { endpointEvidence, type ProviderError, StreamInterrupted } from "@modelgate/domain/ProviderError"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Cause, Chunk, Effect, Exit, Option } from "effect"
import type { RequestOptions, StreamAnswer } from "../Gateway.js"
import { flatMapNow } from "../ModelSelector/Reads.js"
import type { StreamResult } from "../Provider.js"
import { notEvaluated } from "../ResponseEvaluator.js"
import * as Accounting from "./Accounting.js"
import { answerMeta, answerOver, type Attempt, evaluation, providerRequest, selected } from "./Attempt.js"
import { answerKey, type Begun } from "./RequestStart.js"
import type { Services } from "./Services.js"
import * as Streaming from "./Streaming.js"
import * as Trial from "./Trial.js"

/**
 * The usage of a stream that ended before its usage chunk (it broke, or its
 * client left): the provider generated, and bills, what it had begun. The
 * prompt side is what the provider reported so far when it did (Anthropic's
 * `message_start`, Gemini's running totals: exact, cache reads and writes
 * included), else `estimatedPromptTokens`; the output is at least one token
 * per chunk delivered. Marked estimated.
 */
const unfinishedUsage = (estimatedPromptTokens: number, chunks: number, reported: Usage | undefined): Usage => {
  if (reported === undefined) {
    return { prompt_tokens: estimatedPromptTokens, completion_tokens: chunks, total_tokens: estimatedPromptTokens + chunks, estimated: true }
  }
  const completion = Math.max(reported.completion_tokens, chunks)
  return {
    ...reported,
    completion_tokens: completion,
    total_tokens: reported.total_tokens + completion - reported.completion_tokens,
    estimated: true
  }
}

/**
 * What the provider bills for a stream that failed, or whose client left,
 * before any of it reached the client (during its peel: the request then
 * fails over, `Attempt.billedSoFar`), from what the peel pulled
 * (`progress`): the usage a chunk of it carried, else what the provider
 * reported so far (Anthropic's `message_start`: it bills that input), or,
 * when it generated some of the answer (the first text and the failure in
 * one read), `unfinishedUsage`, as for a stream that broke after it went
 * out. Undefined when the provider reported nothing and generated none of
 * the answer: nothing to charge (a role-only opening, then the failure).
 */
const billedBeforeClient = (
  estimatedPromptTokens: number,
  progress: Streaming.PeelProgress,
  usageSoFar: (() => Usage | undefined) | undefined
) =>
(): Usage | undefined => {
  const pulled = progress.pulled
  let sent: Usage | undefined
  for (const chunk of pulled) if (chunk.usage != null) sent = chunk.usage
  if (sent !== undefined) return sent
  const reported = usageSoFar?.()
  if (reported === undefined && !Streaming.carriesAnswer(pulled)) return undefined
  return unfinishedUsage(estimatedPromptTokens, Chunk.size(pulled), reported)
}

/**
 * Account for a stream when it ends: its usage (when the provider sent none,
 * what it reported so far or an estimate: `unfinishedUsage`), or
 * its failure; `unread` (abandoned: its client never read it) is the client's doing,
 * not the model's failure, nor is one whose client left before every choice
 * finished (recorded `Interrupted`, out of the model's figures). Health hears
 * of the stream now: its run deferred the success report
 * (`FailoverOptions.deferSuccessReport`), so a stream that broke is one
 * failure, not a success then a failure; one that ended, or whose client
 * left, is a success (latency: the time to its first token, else
 * `firstChunkMs`, the time to its first chunk, as a probe's). A stream that ended cleanly with real usage is
 * evaluated and cached like a complete answer. Runs when called: call it
 * inside the step that settles the stream (`settleOnce`); the parts that have
 * nothing to do (accounting that ran at once, evaluator off, no cache key)
 * add no step.
 */
const settleStream = (
  s: Services,
  attempt: Attempt,
  retried: number | undefined,
  usageSoFar: (() => Usage | undefined) | undefined,
  request: ChatRequest,
  requirements: TaskRequirements,
  begun: Begun,
  cacheTtlMs: number | undefined,
  firstChunkMs: number,
  onCost: (cost: PicoUsd, usage: Usage) => void
) =>
(summary: Streaming.StreamSummary, exit: Exit.Exit<void, ProviderError>, unread = false): Effect.Effect<void> => {
  const { requestId } = begun
  const ctx = {
    requestId,
    requirements,
    now: begun.clock.unsafeCurrentTimeMillis(),
    streamed: true,
    timeToFirstTokenMs: summary.timeToFirstTokenMs,
    retried
  }
  const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
  // Ended, broken after output, or the client went away: the provider generated (and bills) what was sent.
  const usage: Usage = summary.usage ?? unfinishedUsage(attempt.promptTokens, summary.chunks, usageSoFar?.())
  // Timed by its first word (a stream the hold committed before it is not timed by the hold), else its first chunk.
  const healthy = () => s.reportSuccess(ctx.now, attempt.model.id, summary.timeToFirstTokenMs ?? firstChunkMs, attempt.held.startedAt)
  if (unread) {
    // Its client never read it: charged what the provider began, recorded as the client's doing
    // (`Interrupted`, as a complete call whose client left); the model answered.
    return Effect.zipRight(Accounting.failedAfterOutput(s.accounting, attempt.held, neverRead, usage, ctx), Effect.suspend(healthy))
  }
  if (Option.isSome(failure)) {
    // A provider failure after the first chunk (an overload, a server error, a broken connection)
    // is reported as it would have been before the first byte. What it was charged is its settled cost
    // (the HTTP server sends it as the cost trailer it announced).
    return Effect.zipRight(
      summary.chunks > 0
        ? Effect.map(Accounting.failedAfterOutput(s.accounting, attempt.held, failure.value, usage, ctx), (cost) => onCost(cost, usage))
        : Accounting.failed(s.accounting, attempt.held, failure.value, ctx),
      s.reportFailure(attempt.model.id, failure.value._tag, attempt.held.startedAt, endpointEvidence(failure.value))
    )
  }
  // Not failed, not finished: its client stopped reading (its latency says nothing of the model).
  const accounted = Accounting.succeeded(s.accounting, attempt.held, usage, undefined, finished(summary) ? ctx : { ...ctx, clientLeft: true })
  const response = Exit.isSuccess(exit) ? Streaming.assemble(summary, `chatcmpl-${requestId}`, attempt.model.id) : undefined
  const answered = (): Effect.Effect<void> => {
    if (response === undefined) return Effect.void
    const evaluated = evaluation(s, begun, {
      requestId,
      agentType: begun.agentType,
      model: attempt.model.id,
      taskType: requirements.taskType,
      request,
      response
    })
    const key = answerKey(s, request, begun, attempt.model)
    if (key === undefined) return evaluated === notEvaluated ? Effect.void : Effect.asVoid(evaluated)
    return evaluated === notEvaluated ? s.cache.set(key, response, cacheTtlMs) : Effect.flatMap(evaluated, () => s.cache.set(key, response, cacheTtlMs))
  }
  // After the accounting (at once when it ran at once: `flatMapNow`); the health report adds no step on a healthy model.
  return flatMapNow(accounted, (cost): Effect.Effect<void> => {
    onCost(cost, usage)
    const reported = healthy()
    const rest = answered()
    return reported === Effect.void ? rest : rest === Effect.void ? reported : Effect.zipRight(reported, rest)
  })
}

/** The failure of a stream its client never read, as recorded. */
const neverRead = { _tag: Accounting.clientLeft } as const

/** Whether every choice of a stream got its finish reason: the model finished its answer. */
const finished = (summary: Streaming.StreamSummary): boolean =>
  summary.choices.length > 0 && summary.choices.every((choice) => choice.finishReason !== undefined)

// Validation off (`, true`): registry strings and a fixed detail, nothing from outside.
const neverStarted = (model: ModelMetadata): ProviderError =>
  new StreamInterrupted({ provider: model.provider, model: model.id, detail: "the stream ended before its first chunk" }, true)

/**
 * The client's stream of an attempt whose first chunk arrived: delivered
 * (renamed, watched, settled once at its end) and watched for abandonment
 * until the client starts reading it (through its stream or its bare pull).
 */
const answerStream = (
  s: Services,
  request: ChatRequest,
  requirements: TaskRequirements,
  begun: Begun,
  cacheTtlMs: number | undefined,
  attempt: Attempt,
  started: StreamResult,
  peeled: Streaming.Peeled<ProviderError>
): Streaming.Delivered => {
  const { model } = attempt
  const { requestId } = begun
  let costUsd: number | undefined
  let usage: Usage | undefined
  const peeledAt = begun.clock.unsafeCurrentTimeMillis()
  // The request's cost: the stream's and the billed answers of its failed attempts.
  // Its rate-limit headers were learned when it opened (`streamAnswer`), not again at its end.
  const settle = settleStream(s, attempt, started.retried, started.usageSoFar, request, requirements, begun, cacheTtlMs, peeledAt - attempt.held.startedAt, (cost, settled) => {
    costUsd = toUsd(cost + attempt.chargedBefore)
    usage = settled
  })
  // Its model's trial (if the request claimed one) is held while the stream runs, given back once it is settled.
  const trial = Trial.handOff(begun, model.id)
  // Exactly once: by the stream's end, or by abandonment (whichever comes first).
  let settled = false
  const settleOnce = (summary: Streaming.StreamSummary, exit: Exit.Exit<void, ProviderError>, unread = false) =>
    Effect.suspend(() => {
      if (settled) return Effect.void
      settled = true
      return Trial.releasedAfter(settle(summary, exit, unread), trial)
    })
  const abandoned = () =>
    new StreamInterrupted({ provider: model.provider, model: model.id, detail: "the stream was not read in time and was abandoned" }, true)
  const pending = s.abandoner.register(
    peeledAt,
    peeled.close.pipe(
      // Its first chunks came from the provider, which bills what it began: settled with them.
      // The summary is built only if the stream is abandoned; an unread stream is settled as such (its exit unused).
      Effect.zipRight(Effect.suspend(() =>
        settleOnce(Streaming.summaryOf(Chunk.toReadonlyArray(peeled.first), attempt.held.startedAt, peeledAt), Exit.void, true)
      )),
      Effect.zipRight(Effect.logWarning(`stream ${requestId} on ${model.id} was never read; upstream closed, what it began charged`))
    )
  )
  const id = `chatcmpl-${requestId}`
  const delivered = Streaming.delivery(peeled, {
    clock: begun.clock,
    startedAt: attempt.held.startedAt,
    rename: (chunk) => ({ ...chunk, model: model.id, id }),
    onStart: pending.start,
    tooLate: abandoned,
    onEnd: settleOnce
  })
  return { chunks: delivered.chunks, open: delivered.open, settledCostUsd: () => costUsd, settledUsage: () => usage }
}

/** A streamed answer: selection, failover until the first chunk, then the stream. */
export const streamAnswer = (
  s: Services,
  request: ChatRequest,
  requirements: TaskRequirements,
  options: RequestOptions | undefined,
  begun: Begun
) =>
  answerOver(
    s,
    request,
    requirements,
    begun,
    {
      streamed: true,
      use: (attempt) => {
        const { closing, key, model, onNotSent, onRetry, provider, stillWanted } = attempt
        return Effect.flatMap(provider.stream({ request: providerRequest(request, model), model, key, onRetry, stillWanted, onNotSent, closing }), (started) => {
          // Opened: the provider answered this request (and its retries), whatever breaks while peeling.
          attempt.opened = 1 + (started.retried ?? 0)
          // Should it fail (or its client leave) before it reaches the client, the attempt charges what the provider bills.
          const progress: Streaming.PeelProgress = { pulled: Chunk.empty() }
          attempt.billedSoFar = billedBeforeClient(attempt.promptTokens, progress, started.usageSoFar)
          const hold = { clock: begun.clock, ms: begun.config.failover.streamHoldMs }
          const peeling = Streaming.peelFirst(started.chunks, () => neverStarted(model), started.open, hold, progress)
          const peel = Effect.map(peeling, (peeled) => ({ started, peeled }))
          // Its rate-limit headers are learned now, not when the stream ends: other calls meanwhile keep to them.
          const learned = started.rateLimit === undefined ? Effect.void : Accounting.learn(s.accounting, attempt.held, started.rateLimit)
          return learned === Effect.void ? peel : Effect.zipRight(learned, peel)
        })
      },
      after: (attempt, { peeled, started }) =>
        Effect.sync(() => answerStream(s, request, requirements, begun, options?.cacheTtlMs, attempt, started, peeled))
    },
    (ranked, outcome) => {
      // Published now (this is the answer's step); no step when it fit.
      const published = selected(s, begun, outcome.model, ranked, outcome.failovers)
      const delivered = outcome.value
      const answer: StreamAnswer = {
        meta: answerMeta(begun, outcome, undefined),
        chunks: delivered.chunks,
        open: delivered.open,
        settledCostUsd: delivered.settledCostUsd,
        settledUsage: delivered.settledUsage
      }
      return published === Effect.void ? Effect.succeed(answer) : Effect.as(published, answer)
    }
  )
