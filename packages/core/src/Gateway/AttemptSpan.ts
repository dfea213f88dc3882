/**
 * The span of one attempt of a traced request: the call to one model's
 * provider, named as OpenTelemetry's GenAI conventions name a client call
 * (`chat <provider's model>`, kind client), with the gateway's model id, the
 * key's id (`openai#1`) and fingerprint (`openai~3fa9c2d1e07b4a55`, as cost
 * records name it; never the key) and the attempt's number. A failover
 * shows as one such span per model tried, each failed one with its error;
 * for a stream it covers the call until its first chunk.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Effect } from "effect"

/** The provider name of OpenTelemetry's GenAI conventions (`gen_ai.provider.name`) for a provider id. */
export const genAiProvider = (provider: string): string => (provider === "google" ? "gcp.gemini" : provider)

/** `call` (attempt number `attempt`, from 1, of a request, on key `keyId`, whose fingerprint `fingerprints` gives) in its span. */
export const around = <A, E>(
  call: Effect.Effect<A, E>,
  model: ModelMetadata,
  keyId: string | undefined,
  attempt: number,
  fingerprints?: ReadonlyMap<string, string>
): Effect.Effect<A, E> => {
  const fingerprint = keyId === undefined ? undefined : fingerprints?.get(keyId)
  return Effect.withSpan(call, `chat ${model.providerModel}`, {
    kind: "client",
    captureStackTrace: false,
    attributes: {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": genAiProvider(model.provider),
      "gen_ai.request.model": model.providerModel,
      "modelgate.model": model.id,
      "modelgate.attempt": attempt,
      ...(keyId === undefined ? {} : { "modelgate.key": keyId }),
      ...(fingerprint === undefined ? {} : { "modelgate.key_fingerprint": fingerprint })
    }
  })
}
