/**
 * Gateway errors shared by every package. Each names what was wrong: the file,
 * the path inside it, the model id, the field.
 */
import { Schema } from "effect"

// Up to the authority's last `@`: a password may hold one unencoded (`pg`, as WHATWG URL, reads it whole).
const urlCredentials = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>]+@/gi

/**
 * A text without the credentials of the URLs it quotes (a base URL through a
 * proxy with basic auth, a database URL): `scheme://user:p@ss@host` becomes
 * `scheme://[redacted]@host`.
 */
export const withoutUrlCredentials = (text: string): string => text.replace(urlCredentials, "$1[redacted]@")

/**
 * A configuration file that could not be read or decoded. Nothing of it was
 * applied. `model` is the id of the `models.json` entry the problem is in,
 * named after its path (`models[3].contextWindow (model "o4-mini")`).
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  file: Schema.String,
  path: Schema.String,
  reason: Schema.String,
  model: Schema.optional(Schema.String)
}) {
  override get message() {
    return `invalid configuration in ${this.file}${this.path ? ` at ${this.detail}` : `: ${this.reason}`}`
  }

  /** The problem within its file: `path (model "id"): reason`, or the reason alone when it is the whole file's. */
  get detail(): string {
    const model = this.model === undefined ? "" : ` (model ${JSON.stringify(this.model)})`
    return this.path ? `${this.path}${model}: ${this.reason}` : this.reason
  }
}

/** No model with this id in the registry. */
export class ModelNotFound extends Schema.TaggedError<ModelNotFound>()("ModelNotFound", {
  modelId: Schema.String
}) {
  override get message() {
    return `model not found: ${this.modelId}`
  }
}

/** A request named a model its key may not use (`TaskRequirements.allowedModels`). */
export class ModelNotAllowed extends Schema.TaggedError<ModelNotAllowed>()("ModelNotAllowed", {
  modelId: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {
  override get message() {
    return `model ${this.modelId} is not allowed for this key (allowed: ${this.allowed.join(", ")})`
  }
}

/**
 * A request asks for something the named model's provider cannot give (say
 * `n: 2` of a provider that answers one choice): refused before any call,
 * rather than answered without it. `param` is the request field.
 */
export class UnsupportedParameter extends Schema.TaggedError<UnsupportedParameter>()("UnsupportedParameter", {
  modelId: Schema.String,
  param: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `model ${this.modelId} cannot serve this request: ${this.reason}`
  }
}

/** A model definition or update that failed validation. */
export class InvalidModel extends Schema.TaggedError<InvalidModel>()("InvalidModel", {
  modelId: Schema.String,
  field: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `invalid model ${this.modelId}: ${this.field}: ${this.reason}`
  }
}

/** Writing to or reading from a store failed. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `store ${this.operation} failed: ${this.reason}`
  }
}

/** A provider has no usable API key (none configured, or all set aside). */
export class MissingApiKey extends Schema.TaggedError<MissingApiKey>()("MissingApiKey", {
  provider: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `no usable API key for ${this.provider}: ${this.reason}`
  }
}

/** The local rate limiter has no room for this request on this model. */
export class RateLimitExceeded extends Schema.TaggedError<RateLimitExceeded>()("RateLimitExceeded", {
  model: Schema.String,
  dimension: Schema.Literal("requests", "tokens", "concurrency", "provider"),
  retryAfterMs: Schema.NonNegative
}) {
  override get message() {
    return `rate limit for ${this.model} (${this.dimension}) reached; room again in ${Math.ceil(this.retryAfterMs)} ms`
  }
}

/** A model the health checker reports unavailable. */
export class ModelUnavailable extends Schema.TaggedError<ModelUnavailable>()("ModelUnavailable", {
  model: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `model ${this.model} is unavailable: ${this.reason}`
  }
}

/**
 * Why one model was left out of a ranking. `kind` says whether waiting can
 * help: `rate_limited` and `unavailable` may pass, `budget` lasts until the
 * budget's period ends; `request` (the request itself rules the model out:
 * capabilities, context window, its cost cap, a parameter its provider
 * cannot serve, its key's models) and `permanent` (the gateway's setup:
 * disabled, no API key, not in the registry) never pass for this request.
 */
export const Exclusion = Schema.Struct({
  model: Schema.String,
  reason: Schema.String,
  kind: Schema.optional(Schema.Literal("request", "permanent", "unavailable", "rate_limited", "budget")),
  /**
   * When known, ms until the model may pass: room again under its rate limit,
   * or the next probe of an unavailable model (the only way back to service).
   */
  retryAfterMs: Schema.optional(Schema.NonNegative)
})
export type Exclusion = typeof Exclusion.Type

/** No model meets the request's requirements; `exclusions` says why for each. */
export class NoEligibleModel extends Schema.TaggedError<NoEligibleModel>()("NoEligibleModel", {
  exclusions: Schema.Array(Exclusion),
  retryAfterMs: Schema.optional(Schema.NonNegative)
}) {
  override get message() {
    return `no eligible model: ${this.exclusions.map((e) => `${e.model} (${e.reason})`).join("; ") || "the registry is empty"}`
  }
}

/** A budget is spent: requests that would spend on it are refused before any provider call. */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  budget: Schema.String,
  period: Schema.String,
  limitUsd: Schema.Number,
  spentUsd: Schema.Number,
  retryAfterMs: Schema.optional(Schema.NonNegative),
  /** The most the refused request could cost (what it had to hold), when a request was refused. */
  requestUsd: Schema.optional(Schema.NonNegative)
}) {
  override get message() {
    const spent = `$${this.spentUsd.toFixed(6)} of $${this.limitUsd.toFixed(6)}`
    // Refused before the budget is spent: the request's most possible cost does not fit what is left.
    return this.requestUsd !== undefined && this.spentUsd < this.limitUsd
      ? `budget ${this.budget} (${this.period}) has no room for this request: it may cost up to $${this.requestUsd.toFixed(6)} ` +
        `(set max_tokens to ask for less), and ${spent} is spent or held`
      : `budget ${this.budget} (${this.period}) exceeded: spent ${spent}`
  }
}

/** One candidate's failure inside a failover run. */
export const CandidateFailure = Schema.Struct({
  model: Schema.String,
  tag: Schema.String,
  message: Schema.String,
  retryAfterMs: Schema.optional(Schema.NonNegative)
})
export type CandidateFailure = typeof CandidateFailure.Type

/** Every candidate failed; `retryAfterMs` is the earliest time one will be usable, when known. */
export class AllCandidatesFailed extends Schema.TaggedError<AllCandidatesFailed>()("AllCandidatesFailed", {
  failures: Schema.Array(CandidateFailure),
  retryAfterMs: Schema.optional(Schema.NonNegative)
}) {
  override get message() {
    return `all candidates failed: ${this.failures.map((f) => `${f.model}: ${f.tag} (${f.message})`).join("; ")}`
  }
}

/**
 * The virtual key a request came with was removed from `auth.virtualKeys` by a
 * reload while the request waited in the queue: it is not sent (revoking a key
 * ends what it started and has not yet been served).
 */
export class KeyRevoked extends Schema.TaggedError<KeyRevoked>()("KeyRevoked", {
  /** How long the request had waited. */
  waitedMs: Schema.NonNegative
}) {
  override get message() {
    return `the API key was revoked while the request waited ${this.waitedMs} ms in the queue: it was not sent`
  }
}

/** A queued request's deadline passed before any candidate freed up, or the queue was full. */
export class QueueTimeout extends Schema.TaggedError<QueueTimeout>()("QueueTimeout", {
  waitedMs: Schema.NonNegative,
  reason: Schema.String,
  /** From the deadline, the last ranking's earliest known time a candidate may serve (`NoEligibleModel.retryAfterMs`), when it knew one. */
  retryAfterMs: Schema.optional(Schema.NonNegative)
}) {
  override get message() {
    return `no candidate became available within ${this.waitedMs} ms: ${this.reason}`
  }
}

/**
 * The server began to shut down while the request waited (in the queue, or
 * for its model's concurrency permit): it was never sent to a provider, so
 * nothing was charged and another instance may serve it (HTTP 503
 * `shutting_down`). `reason` says why it was waiting.
 */
export class ShuttingDown extends Schema.TaggedError<ShuttingDown>()("ShuttingDown", {
  waitedMs: Schema.NonNegative,
  reason: Schema.String
}) {
  override get message() {
    return `the gateway is shutting down: the request waited ${this.waitedMs} ms (in the queue or for a concurrency permit) and was not sent (${this.reason}); retry on another instance`
  }
}
