/**
 * `modelgate demo`: the testkit fake providers in-process and the gateway
 * pointed at them, so a new user sees selection, rate limiting, failover and
 * costs without any key.
 *
 * STUB (owner: the lead): needs the testkit fakes and `GatewayLive`. Replace
 * the body of `runDemo`; keep its signature (the CLI passes the port).
 */
import { Effect } from "effect"
import { AppNotWired } from "./runtime.js"

/** What `modelgate demo` is given. */
export interface DemoOptions {
  /** `--port` / `PORT`, else the configured port. */
  readonly port: number | undefined
  readonly host: string | undefined
}

/** Run the demo until interrupted. STUB: fails with a clear message until the lead wires it. */
export const runDemo = (options: DemoOptions): Effect.Effect<void, unknown> =>
  Effect.fail(
    new AppNotWired({
      reason: `modelgate demo is not wired yet (apps/gateway/src/cli/demo.ts runDemo; requested port ${options.port ?? "default"})`
    })
  )
