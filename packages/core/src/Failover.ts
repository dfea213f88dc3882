/**
 * Failover: run a request over ranked candidates with Schedule backoff between
 * rounds; excessive-failover alerts.
 *
 * Contract (implementation: routing issue).
 */
import type { AllCandidatesFailed, BudgetExceeded, CandidateFailure, MissingApiKey, ModelUnavailable, RateLimitExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { BadRequest, ContentFiltered, ContextLengthExceeded, ProviderError } from "@modelgate/domain/ProviderError"
import { Context, type Effect } from "effect"

/** What one attempt on one candidate may fail with. */
export type AttemptError = ProviderError | RateLimitExceeded | ModelUnavailable | MissingApiKey | BudgetExceeded

/** Errors that end a run at once: the request itself is at fault. */
export type PermanentError = BadRequest | ContentFiltered | ContextLengthExceeded

/** A successful run. */
export interface FailoverOutcome<A> {
  readonly value: A
  readonly model: ModelMetadata
  /** How many times the run moved to another candidate. */
  readonly failovers: number
  readonly failures: ReadonlyArray<CandidateFailure>
}

/** Options of one run. */
export interface FailoverOptions {
  readonly requestId?: string | undefined
}

/** Failover over candidates. */
export class Failover extends Context.Tag("@modelgate/core/Failover")<
  Failover,
  {
    /**
     * Try `candidates` in order. Moves on after RateLimited, Overloaded, Timeout,
     * Transport, ServerError, MalformedResponse, StreamInterrupted, RateLimitExceeded,
     * ModelUnavailable, MissingApiKey, BudgetExceeded; on Unauthorized sets the key
     * aside and tries the same candidate with its next key; on ContextLengthExceeded
     * moves only to a candidate with a larger context window; other permanent errors
     * end the run.
     */
    readonly run: <A>(
      candidates: ReadonlyArray<ModelMetadata>,
      attempt: (model: ModelMetadata, attemptNumber: number) => Effect.Effect<A, AttemptError>,
      options?: FailoverOptions
    ) => Effect.Effect<FailoverOutcome<A>, AllCandidatesFailed | PermanentError | BudgetExceeded>
  }
>() {}
