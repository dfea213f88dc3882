/**
 * A provider key's id as gateway instances on one database share it: the
 * provider and the first 16 hex digits of the key's SHA-256
 * (`openai~3fa9c2d1e07b4a55`). The position id (`openai#1`) depends on the
 * order the instance read its keys in, which differs between instances while
 * keys are rotated (one instance still on `[old, new]`, another on `[new]`);
 * the fingerprint names the same key on every instance. 64 bits of a hash of
 * a high-entropy key say nothing of the key, and nothing else of it is stored.
 */
import { Unauthorized } from "@modelgate/domain/ProviderError"
import { Redacted } from "effect"
import * as crypto from "node:crypto"
import type { ProviderKey } from "../Provider.js"

/** The id under which instances share `key` of `provider` (see the module doc). */
export const sharedId = (provider: string, key: ProviderKey): string =>
  `${provider}~${crypto.createHash("sha256").update(Redacted.value(key.value)).digest("hex").slice(0, 16)}`

/**
 * `error`, when it is an `Unauthorized` naming its key by position only, with
 * the key's fingerprint (from `fingerprints`, each key id to it:
 * `ApiKeys.sharedIds`) beside the position; any other error as it is.
 */
export const withKeyFingerprint = <E extends { readonly _tag: string }>(
  error: E,
  fingerprints: ReadonlyMap<string, string> | undefined
): E => {
  if (error._tag !== "Unauthorized") return error
  const refused = error as unknown as Unauthorized
  if (refused.keyId === undefined || refused.keyFingerprint !== undefined) return error
  const keyFingerprint = fingerprints?.get(refused.keyId)
  return keyFingerprint === undefined ? error : (new Unauthorized({ ...refused, keyFingerprint }) as unknown as E)
}
