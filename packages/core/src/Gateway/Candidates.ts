/**
 * The candidates of a request: ranked by the selector, waiting in the
 * priority queue (`WaitQueue.ts`) while nothing can serve, with the gateway's
 * degraded mode entered and left (logged and published) on the way.
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import { type BudgetExceeded, type Exclusion, KeyRevoked, type ModelNotFound, NoEligibleModel, QueueTimeout } from "@modelgate/domain/Errors"
import { DegradedModeEntered, DegradedModeLeft } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Clock, Effect, Option } from "effect"
import { candidatesFor } from "../Failover.js"
import type { Ranking, SelectionInput } from "../ModelSelector.js"
import { selectionInputOf } from "../ModelSelector/RequestInput.js"
import { budgetRefusal, noneEligible } from "./Refusals.js"
import type { Begun } from "./RequestStart.js"
import type { Services } from "./Services.js"
import * as WaitQueue from "./WaitQueue.js"

/** The models a request may run on, best first, and the score of each. */
export interface Candidates {
  readonly models: ReadonlyArray<ModelMetadata>
  readonly ranking: Ranking
  /** What the ranking was asked (told to a host's optimizer with the selection). */
  readonly input: SelectionInput
  /** Models left out of the ranking, and why: reported when every candidate fails. */
  readonly excluded: ReadonlyArray<Exclusion>
}

// Events and errors here are built with validation off (`, true`): typed values of our own ranking, not
// outside input; test/HotPathSchemas.test.ts checks that what is built satisfies the Schemas.
const announceDegraded = (s: Services, on: boolean, reason: string) =>
  Effect.gen(function* () {
    const at = yield* Clock.currentTimeMillis
    if (on) {
      yield* Effect.logWarning(`degraded mode: ${reason}`)
      yield* s.events.publish(DegradedModeEntered.make({ at, component: "routing", reason }, true))
    } else {
      yield* Effect.logInfo("degraded mode left: candidates available again")
      yield* s.events.publish(DegradedModeLeft.make({ at, component: "routing" }, true))
    }
  })

const setDegraded = (s: Services, on: boolean, reason: string) =>
  Effect.suspend(() => {
    if (s.state.degraded === on) return Effect.void
    s.state.degraded = on
    return announceDegraded(s, on, reason)
  })

/**
 * Rank the candidates once; fails NoEligibleModel when none can serve now.
 * (Plain flatMap steps instead of generators on the request path: each
 * generator is an allocation and a few Effect steps per request.)
 */
const rankOnce = (s: Services, request: ChatRequest, requirements: TaskRequirements, begun: Begun) => {
  const { explicit } = begun
  // The trials the ranking claims are the request's the moment they are claimed (`Trial.ts`): a request
  // interrupted before it takes the ranking gives them back all the same (`Trial.heldOver`).
  const input = selectionInputOf(request, requirements, explicit, s.providers, begun.requestId, (trial) => {
    begun.trial = trial
  })
  const promptTokens = input.estimatedPromptTokens
  // `rankAt` runs its reads when called: suspended, so that each run (the queue re-runs it while
  // waiting) ranks afresh at its own time.
  const selector = s.selector
  const rankAt = selector.rankAt
  const rank = rankAt === undefined
    ? selector.rank(input)
    : Effect.suspend(() => rankAt(begun.config, begun.clock.unsafeCurrentTimeMillis(), input))
  return Effect.flatMap(
    rank,
    (ranking): Effect.Effect<Candidates, NoEligibleModel | BudgetExceeded | ModelNotFound> => {
      const ordered = candidatesFor(explicit ?? "auto", ranking)
      if (ordered.length > 0) {
        // The trials it claimed are the request's (a selector of the host's may not tell `onTrialClaimed`).
        begun.trial = ranking.trial
        return Effect.succeed({ models: ordered, ranking, input, excluded: ranking.excluded })
      }
      ranking.trial?.release()
      begun.trial = undefined
      const none = noneEligible(ranking)
      return WaitQueue.transient(none)
        ? Effect.fail(none)
        : Effect.zipRight(budgetRefusal(s.registry, s.accounting.costs, ranking, requirements, promptTokens, request), Effect.fail(none))
    }
  )
}

/**
 * Whether a request's failure to find a candidate is the gateway's
 * degradation: it waited out the queue, or models that would serve it are
 * down or rate limited. A request whose own asks rule every model out
 * (capabilities, `n`, its key's models, budgets, an unknown model) is not,
 * nor one whose wait its server's shutdown ended (`ShuttingDown`).
 */
const degradedBy = (error: { readonly _tag: string }): boolean =>
  error instanceof QueueTimeout ||
  (error instanceof NoEligibleModel && error.exclusions.some(degrading))

const degrading = (e: Exclusion): boolean => e.kind === "unavailable" || e.kind === "rate_limited"

/**
 * The reason of `DegradedModeEntered`, which every team's `/v1/events`
 * sees: the models down or rate limited only, never the request's own
 * exclusions (its agent type's budget, its asks). A queue timeout says how
 * long the request waited (its message holds the request's exclusions).
 */
const degradedReason = (error: { readonly _tag: string; readonly message: string }): string =>
  error instanceof NoEligibleModel
    ? new NoEligibleModel({ exclusions: error.exclusions.filter(degrading) }, true).message
    : error instanceof QueueTimeout
    ? `no candidate became available within ${error.waitedMs} ms`
    : error.message

/**
 * Fails with `KeyRevoked` when the key the request came with no longer lets
 * it in (`begun.keyRevoked`; a request without the check is never revoked):
 * asked after each wait (in the queue, or behind an identical request's flight).
 */
export const stillKeyed = (begun: Begun): Effect.Effect<void, KeyRevoked> =>
  // Suspended: asked at each look, not once when the retry is built.
  Effect.suspend(() =>
    begun.keyRevoked?.() === true
      ? Effect.fail(new KeyRevoked({ waitedMs: Math.max(0, begun.clock.unsafeCurrentTimeMillis() - begun.startedAt) }))
      : Effect.void
  )

/**
 * Rank again after a wait in the queue, on the configuration in force now:
 * the request goes on under it (`begun.config` is replaced), so a reload
 * while it waited (a budget lowered, a provider changed) holds for it. A
 * named model is looked up again (`begun.explicit` is replaced): its
 * `fallbacks` are those of the registry now. A model removed meanwhile keeps
 * its old entry, which the ranking then leaves out ("not in the registry").
 * A request whose virtual key the reload removed goes no further (`KeyRevoked`).
 */
const rankAfterWait = (s: Services, request: ChatRequest, requirements: TaskRequirements, begun: Begun) =>
  Effect.zipRight(
    stillKeyed(begun),
    Effect.flatMap(s.config.get, (config) => {
      begun.config = config
      const named = begun.explicit
      return named === undefined
        ? rankOnce(s, request, requirements, begun)
        : Effect.flatMap(Effect.option(s.registry.get(named.id)), (found) => {
          if (Option.isSome(found)) begun.explicit = found.value
          return rankOnce(s, request, requirements, begun)
        })
    })
  )

/** Rank, waiting in the priority queue while nothing can serve; enters degraded mode (`answered` leaves it). */
export const candidates = (s: Services, request: ChatRequest, requirements: TaskRequirements, begun: Begun) =>
  Effect.catchAll(
    s.queue.run(requirements.priority, s.queueDeadlineMs, rankOnce(s, request, requirements, begun), () =>
      rankAfterWait(s, request, requirements, begun), begun.closing),
    (e) => (degradedBy(e) ? Effect.zipRight(setDegraded(s, true, degradedReason(e)), Effect.fail(e)) : Effect.fail(e))
  )

/**
 * A provider answered: degraded mode is left (README: "left at the next
 * answer"; a request that finds a candidate which then fails leaves nothing).
 * The flag is read synchronously: it costs a step only when it was on.
 */
export const answered = <A>(s: Services, value: A): Effect.Effect<A> =>
  s.state.degraded ? Effect.as(setDegraded(s, false, ""), value) : Effect.succeed(value)
