/**
 * A provider key's id as gateway instances on one database share it: the
 * provider and the first 16 hex digits of the key's SHA-256
 * (`openai~3fa9c2d1e07b4a55`). The position id (`openai#1`) depends on the
 * order the instance read its keys in, which differs between instances while
 * keys are rotated (one instance still on `[old, new]`, another on `[new]`);
 * the fingerprint names the same key on every instance. 64 bits of a hash of
 * a high-entropy key say nothing of the key, and nothing else of it is stored.
 */
import { Redacted } from "effect"
import * as crypto from "node:crypto"
import type { ProviderKey } from "../Provider.js"

/** The id under which instances share `key` of `provider` (see the module doc). */
export const sharedId = (provider: string, key: ProviderKey): string =>
  `${provider}~${crypto.createHash("sha256").update(Redacted.value(key.value)).digest("hex").slice(0, 16)}`
