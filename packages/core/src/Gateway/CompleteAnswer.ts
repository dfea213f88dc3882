/**
 * The complete (non-streamed) answer of a request that the cache did not
 * answer: selection, failover, the call and its accounting, then events,
 * evaluation and the cache write. A call whose client left once the
 * provider had it runs on and is accounted and cached all the same
 * (`AttemptSteps.leftBehind`): the provider bills the whole answer.
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { type PicoUsd, toUsd } from "@modelgate/domain/Money"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Effect } from "effect"
import type { RequestOptions } from "../Gateway.js"
import { mapNow } from "../ModelSelector/Reads.js"
import * as Accounting from "./Accounting.js"
import { answerMeta, answerOver, providerRequest, selectedThenEvaluated } from "./Attempt.js"
import { answerKey, type Begun } from "./RequestStart.js"
import type { Services } from "./Services.js"

/** Every answer is named after the gateway's request (as streams and cache hits are), whatever its provider called it. */
const named = (response: ChatResponse, requestId: string, model: ModelMetadata): ChatResponse => ({
  ...response,
  id: `chatcmpl-${requestId}`,
  model: model.id
})

/** A complete answer: selection, failover, the call and its accounting, then events, evaluation and the cache. */
export const completeAnswer = (
  s: Services,
  request: ChatRequest,
  requirements: TaskRequirements,
  options: RequestOptions | undefined,
  begun: Begun
) => {
  const { requestId } = begun
  return answerOver(
    s,
    request,
    requirements,
    begun,
    {
      streamed: false,
      use: ({ abandoned, closing, key, model, onNotSent, onRetry, provider, stillWanted }) =>
        provider.chat({ request: providerRequest(request, model), model, key, onRetry, stillWanted, onNotSent, closing, abandoned }),
      after: ({ chargedBefore, held }, result) =>
        // `mapNow`: the accounting answers an Exit when every step of it ran at once.
        mapNow(
          Accounting.succeeded(s.accounting, held, result.response.usage, result.rateLimit, {
            requestId,
            requirements,
            now: begun.clock.unsafeCurrentTimeMillis(),
            streamed: false,
            retried: result.retried
          }),
          // The request's cost: this answer's and the billed answers of its failed attempts.
          (cost) => ({ response: result.response, cost: (cost + chargedBefore) as PicoUsd })
        ),
      // Its client left while the provider worked on it: charged as usual, recorded as the client's doing,
      // and cached (the client's retry is a hit, not a second bill).
      leftBehind: ({ held, model }, result) =>
        Effect.flatMap(
          Accounting.succeeded(s.accounting, held, result.response.usage, result.rateLimit, {
            requestId,
            requirements,
            now: begun.clock.unsafeCurrentTimeMillis(),
            streamed: false,
            retried: result.retried,
            clientLeft: true
          }),
          () => {
            const key = answerKey(s, request, begun, model)
            return key === undefined ? Effect.void : s.cache.set(key, named(result.response, requestId, model), options?.cacheTtlMs)
          }
        )
    },
    (ranked, outcome) => {
      const model = outcome.model
      const response = named(outcome.value.response, requestId, model)
      const answer = { response, meta: answerMeta(begun, outcome, toUsd(outcome.value.cost)) }
      // Published now (this is the answer's step); no step at all when nothing is left to do.
      const evaluated = selectedThenEvaluated(s, begun, model, ranked, outcome.failovers, {
        requestId,
        agentType: begun.agentType,
        model: model.id,
        taskType: requirements.taskType,
        request,
        response
      })
      const key = answerKey(s, request, begun, model)
      if (key === undefined) return evaluated === Effect.void ? Effect.succeed(answer) : Effect.as(evaluated, answer)
      return Effect.as(Effect.flatMap(evaluated, () => s.cache.set(key, response, options?.cacheTtlMs)), answer)
    }
  )
}
