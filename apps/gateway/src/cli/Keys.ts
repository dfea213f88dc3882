/**
 * `modelgate keys new`: a fresh virtual key and the entry that admits it. The
 * key is printed once; the configuration keeps only its SHA-256.
 */
import { VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { Array as Arr, Schema } from "effect"
import { createHash, randomBytes } from "node:crypto"

/** What binds a new key's requests: the team's agent type, its rpm, the models it may use (none: any). */
export interface KeyBinding {
  readonly agentType?: string | undefined
  readonly rpm?: number | undefined
  readonly models?: ReadonlyArray<string> | undefined
}

/** A new key for a team and its `auth.virtualKeys` entry (the key's SHA-256 and what binds its requests). */
export const newVirtualKey = (name: string, binding: KeyBinding = {}): { readonly key: string; readonly entry: VirtualKey } => {
  const key = `mg-${randomBytes(32).toString("base64url")}`
  const sha256 = createHash("sha256").update(key).digest("hex")
  const { agentType, models, rpm } = binding
  return {
    key,
    entry: VirtualKey.make({
      name,
      sha256,
      ...(agentType === undefined ? {} : { agentType }),
      ...(rpm === undefined ? {} : { rpm }),
      ...(models === undefined || !Arr.isNonEmptyReadonlyArray(models) ? {} : { models })
    })
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
