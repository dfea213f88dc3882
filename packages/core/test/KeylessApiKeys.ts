/**
 * An `ApiKeys` with no key for any provider, for checker tests whose
 * providers need none (`requiresKey: false`): it is never asked for one.
 */
import { Effect } from "effect"
import { ApiKeys } from "../src/ApiKeys.js"

/** No keys at all; `next` is never called by a keyless provider's checks. */
export const noKeys = ApiKeys.of({
  next: () => Effect.die("not used"),
  hasKey: () => Effect.succeed(false),
  setAside: () => Effect.void,
  status: Effect.succeed([]),
  validate: () => Effect.void
})
