/**
 * ApiKeys: provider keys read from Config, rotated round robin, set aside after
 * 401/403. Keys are `Redacted` from the moment they are read.
 *
 * Contract (implementation: foundation issue).
 */
import type { MissingApiKey } from "@modelgate/domain/Errors"
import { Context, type Effect } from "effect"
import type { ProviderKey } from "./Provider.js"

/** The state of one provider's keys, without any secret. */
export interface ProviderKeyStatus {
  readonly provider: string
  readonly total: number
  readonly usable: number
  readonly setAside: ReadonlyArray<{ readonly id: string; readonly reason: string }>
}

/** Provider API keys. */
export class ApiKeys extends Context.Tag("@modelgate/core/ApiKeys")<
  ApiKeys,
  {
    /** The next usable key of `provider`, round robin. */
    readonly next: (provider: string) => Effect.Effect<ProviderKey, MissingApiKey>
    /** Whether `provider` has at least one usable key. */
    readonly hasKey: (provider: string) => Effect.Effect<boolean>
    /** Set a key aside (401/403); it is not handed out again. */
    readonly setAside: (provider: string, keyId: string, reason: string) => Effect.Effect<void>
    readonly status: Effect.Effect<ReadonlyArray<ProviderKeyStatus>>
    /** Log one warning per provider (of `providers`) without a usable key; never fails. */
    readonly validate: (providers: ReadonlyArray<string>) => Effect.Effect<void>
  }
>() {}
