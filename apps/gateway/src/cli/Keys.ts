/**
 * `modelgate keys new`: a fresh virtual key and the entry that admits it. The
 * key is printed once; the configuration keeps only its SHA-256.
 */
import { VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { Schema } from "effect"
import { createHash, randomBytes } from "node:crypto"

/** A new key for a team and its `auth.virtualKeys` entry (the key's SHA-256, the team's agent type and rpm). */
export const newVirtualKey = (
  name: string,
  agentType: string | undefined,
  rpm?: number | undefined
): { readonly key: string; readonly entry: VirtualKey } => {
  const key = `mg-${randomBytes(32).toString("base64url")}`
  const sha256 = createHash("sha256").update(key).digest("hex")
  return {
    key,
    entry: VirtualKey.make({ name, sha256, ...(agentType === undefined ? {} : { agentType }), ...(rpm === undefined ? {} : { rpm }) })
  }
}

/** What `keys new` prints: the key once, and the entry to add to `config/gateway.json`. */
export const describeNewKey = ({ entry, key }: ReturnType<typeof newVirtualKey>): string =>
  [
    `key (shown once; give it to the team, it goes in 'Authorization: Bearer <key>'):`,
    `  ${key}`,
    ``,
    `add this entry to "auth": { "virtualKeys": [...] } in config/gateway.json (a reload applies it):`,
    `  ${JSON.stringify(Schema.encodeSync(VirtualKey)(entry))}`
  ].join("\n")
