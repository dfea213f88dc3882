/**
 * Stream plumbing: peel the first chunk of a provider stream (so a failure
 * before the first byte can still fail over), and account for the stream
 * when it ends, however it ends.
 */
import type { ChatChunk, ChatResponse, FinishReason, ToolCall, Usage } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Chunk, Clock, Effect, Exit, Option, Ref, Scope, Stream } from "effect"

/**
 * Pull the first chunk of `stream`. Fails with the stream's error if it fails
 * (or ends) before producing one; otherwise returns an equivalent stream that
 * starts with that chunk. The upstream stays open in its own scope until the
 * returned stream ends or is interrupted (or `close` is called): interruption
 * while the first chunk is pulled closes it too.
 */
export const peelFirst = <E>(stream: Stream.Stream<ChatChunk, E>, onEmpty: () => E) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const close = Scope.close(scope, Exit.void)
      const first = yield* restore(
        Effect.gen(function* () {
          const pull = yield* Stream.toPull(stream).pipe(Scope.extend(scope))
          const chunk = yield* pull.pipe(
            Effect.catchAll((e) => Option.match(e, { onNone: () => Effect.fail(onEmpty()), onSome: (err) => Effect.fail(err) }))
          )
          if (Chunk.isEmpty(chunk)) return yield* Effect.fail(onEmpty())
          return { chunk, pull }
        })
      ).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : close)))
      const rest = Stream.repeatEffectChunkOption(first.pull)
      return {
        stream: Stream.concat(Stream.fromChunk(first.chunk), rest).pipe(Stream.ensuring(close)),
        /** Close the upstream without running the stream (it was abandoned). */
        close
      }
    })
  )

/**
 * Give up on a stream nobody started: if `stream` has not been run within
 * `afterMs` (the client left between the answer's headers and its body), run
 * `onAbandon` (close the upstream, give back what was held). A daemon fiber
 * waits; it does nothing once the stream has started.
 */
export const abandonUnlessStarted = <A, E>(stream: Stream.Stream<A, E>, afterMs: number, onAbandon: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const started = yield* Ref.make(false)
    yield* Effect.sleep(afterMs).pipe(
      Effect.zipRight(Ref.get(started)),
      Effect.flatMap((wasStarted) => (wasStarted ? Effect.void : onAbandon)),
      Effect.forkDaemon
    )
    return Stream.unwrap(Effect.as(Ref.set(started, true), stream))
  })

/** What a finished stream delivered, and the answer it carried (for the cache and the evaluator). */
export interface StreamSummary {
  readonly usage: Usage | undefined
  readonly timeToFirstTokenMs: number | undefined
  readonly chunks: number
  readonly created: number | undefined
  readonly content: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: FinishReason | undefined
}

/** The summary of a stream that delivered nothing. */
export const emptySummary: StreamSummary = {
  usage: undefined,
  timeToFirstTokenMs: undefined,
  chunks: 0,
  created: undefined,
  content: "",
  toolCalls: [],
  finishReason: undefined
}

/** The complete answer a stream carried, when it ended with a finish reason and real usage. */
export const assemble = (summary: StreamSummary, id: string, model: string): ChatResponse | undefined => {
  if (summary.finishReason === undefined || summary.usage === undefined || summary.usage.estimated === true) return undefined
  return {
    id,
    object: "chat.completion",
    created: summary.created ?? 0,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: summary.content === "" && summary.toolCalls.length > 0 ? null : summary.content,
          ...(summary.toolCalls.length > 0 ? { tool_calls: summary.toolCalls } : {})
        },
        finish_reason: summary.finishReason
      }
    ],
    usage: summary.usage
  }
}

/**
 * Watch a stream: remember its usage chunk, time to first token and the
 * answer of choice 0, and call `onEnd` exactly once with how it ended
 * (success, failure, or interruption by the consumer).
 */
export const watch = (
  stream: Stream.Stream<ChatChunk, ProviderError>,
  startedAt: number,
  onEnd: (summary: StreamSummary, exit: Exit.Exit<void, ProviderError>) => Effect.Effect<void>
): Stream.Stream<ChatChunk, ProviderError> =>
  Stream.suspend(() => {
    let usage: Usage | undefined
    let timeToFirstTokenMs: number | undefined
    let chunks = 0
    let created: number | undefined
    let content = ""
    let finishReason: FinishReason | undefined
    const calls = new Map<number, { id: string; name: string; arguments: string }>()
    const observe = (chunk: ChatChunk) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        chunks++
        created ??= chunk.created
        if (chunk.usage != null) usage = chunk.usage
        for (const choice of chunk.choices) {
          if (choice.index !== 0) continue
          const delta = choice.delta
          if (timeToFirstTokenMs === undefined && ((delta.content ?? "") !== "" || delta.tool_calls !== undefined)) {
            timeToFirstTokenMs = now - startedAt
          }
          if (delta.content != null) content += delta.content
          for (const call of delta.tool_calls ?? []) {
            const known = calls.get(call.index) ?? { id: "", name: "", arguments: "" }
            calls.set(call.index, {
              id: call.id ?? known.id,
              name: known.name + (call.function?.name ?? ""),
              arguments: known.arguments + (call.function?.arguments ?? "")
            })
          }
          if (choice.finish_reason !== null) finishReason = choice.finish_reason
        }
      })
    const summary = (): StreamSummary => ({
      usage,
      timeToFirstTokenMs,
      chunks,
      created,
      content,
      finishReason,
      toolCalls: [...calls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, c]) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } }))
    })
    return stream.pipe(
      Stream.tap(observe),
      Stream.ensuringWith((exit) => onEnd(summary(), Exit.asVoid(exit)))
    )
  })
