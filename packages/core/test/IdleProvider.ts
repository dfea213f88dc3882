/** A provider adapter no test calls: it only makes its models' provider known (not "no adapter"). */
import { Effect } from "effect"
import type { Provider } from "../src/Provider.js"

/** An adapter for `id` whose calls and probes die ("not used"). */
export const idleProvider = (id: string): Provider => ({
  id,
  requiresKey: false,
  chat: () => Effect.die("not used"),
  stream: () => Effect.die("not used"),
  probe: () => Effect.die("not used")
})
