/**
 * What the gateway's request path runs on: the subsystem services, the wait
 * queue, the abandoner, the calls left behind and the gateway's own mutable
 * state, resolved once in `Gateway.make` and passed to the pieces of the
 * request path as one record (no per-request closures over them).
 */
import type { EndpointEvidence } from "@modelgate/domain/ProviderError"
import { Effect, Option } from "effect"
import { ApiKeys } from "../ApiKeys.js"
import { CostTracker } from "../CostTracker.js"
import { Events } from "../Events.js"
import { Failover } from "../Failover.js"
import type { FailureMeta } from "../Gateway.js"
import { GatewayConfig } from "../GatewayConfig.js"
import { HealthChecker } from "../HealthChecker.js"
import { ModelOptimizer } from "../ModelOptimizer.js"
import { ModelRegistry } from "../ModelRegistry.js"
import { ModelSelector } from "../ModelSelector.js"
import { PerformanceMonitor } from "../PerformanceMonitor.js"
import { Providers } from "../Provider.js"
import { RateLimiter } from "../RateLimiter.js"
import { ResponseCache } from "../ResponseCache.js"
import { ResponseEvaluator } from "../ResponseEvaluator.js"
import * as Abandon from "./Abandon.js"
import type * as Accounting from "./Accounting.js"
import * as InFlight from "./InFlight.js"
import * as LeftBehind from "./LeftBehind.js"
import * as WaitQueue from "./WaitQueue.js"

/** How long an answered stream may wait for its consumer before it is abandoned (the client left). */
const abandonAfterMs = 30_000

/**
 * The gateway's mutable state. Plain fields, read and set synchronously
 * inside effects: no Ref step per request (bench/README.md).
 */
export interface GatewayState {
  /** Whether the gateway is in degraded mode (no candidate could serve). */
  degraded: boolean
  /** Requests numbered so far (for request ids). */
  counter: number
}

/** Everything the request path needs, built once per gateway. */
export interface Services {
  readonly registry: ModelRegistry["Type"]
  readonly selector: ModelSelector["Type"]
  readonly failover: Failover["Type"]
  readonly keys: ApiKeys["Type"]
  readonly providers: Providers["Type"]
  readonly cache: ResponseCache["Type"]
  readonly evaluator: ResponseEvaluator["Type"]
  readonly events: Events["Type"]
  /** A host's optimizer, when provided: told of every answer's selection (`onSelected`). */
  readonly optimizer: Option.Option<ModelOptimizer["Type"]>
  readonly config: GatewayConfig["Type"]
  readonly accounting: Accounting.AccountingServices
  readonly queue: Effect.Effect.Success<ReturnType<typeof WaitQueue.make>>
  readonly abandoner: Abandon.Abandoner
  /** The complete calls whose clients left, running on to their end in the gateway's scope. */
  readonly leftBehind: LeftBehind.LeftBehind
  /** The cache keys whose complete answer a request is getting now, that identical requests wait for. */
  readonly inFlight: InFlight.InFlight
  /**
   * Report a failed call of a model to health (only the failures health
   * counts). Failover reports the failures of attempts; this is for a stream
   * that broke after its first chunk. `startedAt`: when the call was sent (one
   * sent before its model moved to another endpoint is not heard). A no-op when no HealthChecker is provided.
   */
  readonly reportFailure: (model: string, errorTag: string, startedAt: number, endpoint?: EndpointEvidence | undefined) => Effect.Effect<void>
  /**
   * Report a successful call of a model to health at `now`, applied when
   * called (`HealthChecker.reportSuccessAt`; `Effect.void` on a healthy model
   * when the checker has it): a stream's, once it is over (its run defers the
   * report, see `FailoverOptions.deferSuccessReport`). A no-op when no HealthChecker is provided.
   */
  readonly reportSuccess: (now: number, model: string, latencyMs: number, startedAt: number) => Effect.Effect<void>
  /**
   * Whether health still lets `model` be tried (`HealthChecker.isAvailable`;
   * always true when no HealthChecker is provided): asked by a call that had
   * to wait for its provider's concurrency permit (`CallContext.stillWanted`).
   */
  readonly isAvailable: (model: string) => Effect.Effect<boolean>
  /**
   * What each failed request had done (`Gateway.failureMeta`), by the error
   * it failed with: set only when a request fails after trying a model.
   */
  readonly failures: WeakMap<object, FailureMeta>
  /** The queue deadline, read from the config only when a request has to wait. */
  readonly queueDeadlineMs: Effect.Effect<number>
  readonly state: GatewayState
}

/** Resolve the subsystem services and build the queue, the abandoner and the left-behind calls' set (in the current scope). */
export const make = Effect.gen(function* () {
  const registry = yield* ModelRegistry
  const selector = yield* ModelSelector
  const failover = yield* Failover
  const limiter = yield* RateLimiter
  const keys = yield* ApiKeys
  const providers = yield* Providers
  const costs = yield* CostTracker
  const performance = yield* PerformanceMonitor
  const cache = yield* ResponseCache
  const evaluator = yield* ResponseEvaluator
  const events = yield* Events
  const config = yield* GatewayConfig
  // The capacity is read when a request is about to wait, so a reload applies to the next waiter.
  const queue = yield* WaitQueue.make({ capacity: Effect.map(config.get, (c) => c.failover.queueCapacity), pollMs: 1_000 })
  const abandoner = yield* Abandon.make(abandonAfterMs)
  const leftBehind = yield* LeftBehind.make
  const health = yield* Effect.serviceOption(HealthChecker)
  const optimizer = yield* Effect.serviceOption(ModelOptimizer)
  const services: Services = {
    registry,
    selector,
    failover,
    keys,
    providers,
    cache,
    evaluator,
    events,
    optimizer,
    config,
    accounting: { limiter, costs, performance, keysOf: keys.usableIds, sharedKeyIds: keys.sharedIds },
    queue,
    abandoner,
    leftBehind,
    inFlight: InFlight.make(),
    reportFailure: Option.isSome(health) ? health.value.reportFailure : () => Effect.void,
    isAvailable: Option.isSome(health) ? health.value.isAvailable : () => Effect.succeed(true),
    reportSuccess: Option.isNone(health)
      ? () => Effect.void
      : (now, model, latencyMs, startedAt) => {
        const checker = health.value
        return checker.reportSuccessAt === undefined
          ? checker.reportSuccess(model, latencyMs, startedAt)
          : checker.reportSuccessAt(now, model, latencyMs, startedAt)
      },
    failures: new WeakMap(),
    queueDeadlineMs: Effect.map(config.get, (c) => c.failover.queueDeadlineMs),
    state: { degraded: false, counter: 0 }
  }
  return services
})

/** A fresh request id from the request's start time. */
export const nextRequestId = (s: Services, now: number): string => `mg-${now.toString(36)}-${(s.state.counter++).toString(36)}`
