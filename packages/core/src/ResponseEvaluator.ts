/**
 * ResponseEvaluator: completeness, relevance, coherence of an answer; low
 * quality alerts; switch recommendations the selector reads.
 *
 * Contract (implementation: accounting issue).
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import type { QualityScoreRecord } from "@modelgate/domain/Records"
import { Context, type Effect, type Option } from "effect"

/** Answer quality. */
export class ResponseEvaluator extends Context.Tag("@modelgate/core/ResponseEvaluator")<
  ResponseEvaluator,
  {
    /** None when the evaluator is disabled (nothing computed or stored). */
    readonly evaluate: (input: {
      readonly requestId: string
      readonly model: string
      readonly taskType: string | undefined
      readonly request: ChatRequest
      readonly response: ChatResponse
    }) => Effect.Effect<Option.Option<QualityScoreRecord>>
    /** 0 normally; up to 1 while a switch is recommended for `model` on `taskType`. */
    readonly penalty: (model: string, taskType: string | undefined) => Effect.Effect<number>
  }
>() {}
