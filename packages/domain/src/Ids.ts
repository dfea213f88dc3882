/**
 * Branded identifiers: a model id can never be passed where a provider id or
 * request id is expected.
 */
import { Schema } from "effect"

/** A registry model id, e.g. `gpt-4o-mini` or `claude-sonnet-4-5`. */
export const ModelId = Schema.NonEmptyTrimmedString.pipe(Schema.brand("ModelId"))
export type ModelId = typeof ModelId.Type

/** A provider id: `openai`, `anthropic`, `google`, `ollama`, or one a host registers. */
export const ProviderId = Schema.NonEmptyTrimmedString.pipe(
  Schema.pattern(/^[a-z][a-z0-9_-]*$/, { message: () => "a provider id is lower-case letters, digits, - or _" }),
  Schema.brand("ProviderId")
)
export type ProviderId = typeof ProviderId.Type

/** The providers modelgate ships adapters for. */
export const KnownProviders = ["openai", "anthropic", "google", "ollama"] as const

/** A gateway request id (echoed as `x-request-id`). */
export const RequestId = Schema.NonEmptyTrimmedString.pipe(Schema.brand("RequestId"))
export type RequestId = typeof RequestId.Type

/**
 * A non-secret handle of an API key (provider + index, e.g. `openai#1`), used in
 * records and metrics in place of the key itself.
 */
export const ApiKeyId = Schema.NonEmptyTrimmedString.pipe(Schema.brand("ApiKeyId"))
export type ApiKeyId = typeof ApiKeyId.Type
