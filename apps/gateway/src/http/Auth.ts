/**
 * Gateway auth: `MODELGATE_MASTER_KEY` (read once, `Redacted`) guards `/v1/*`
 * and `/admin/*` as a Bearer token. Without it `/v1/*` is open (one warning at
 * start) and `/admin/*` answers 403.
 */
import type { Headers } from "@effect/platform"
import { Config, Effect, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { ApiError } from "./ApiError.js"

/** Checks a request's bearer token; `enabled` is false when no master key is set. */
export interface Auth {
  readonly enabled: boolean
  /** `undefined` when a request with these headers may pass, else the 401 / 403 to answer. */
  readonly gateway: (headers: Headers.Headers) => ApiError | undefined
  readonly admin: (headers: Headers.Headers) => ApiError | undefined
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest()

const unauthorized = (message: string): ApiError =>
  new ApiError({ status: 401, type: "authentication_error", code: "invalid_api_key", message })

const adminDisabled = new ApiError({
  status: 403,
  type: "permission_error",
  code: "admin_disabled",
  message: "the admin API is disabled: set MODELGATE_MASTER_KEY to enable it"
})

const bearer = /^Bearer\s+(.+)$/i

/** Auth from a master key, or open gateway + closed admin when there is none. */
export const fromKey = (masterKey: Option.Option<Redacted.Redacted<string>>): Auth => {
  const key = Option.filter(masterKey, (k) => Redacted.value(k) !== "")
  if (Option.isNone(key)) return { enabled: false, gateway: () => undefined, admin: () => adminDisabled }
  const expected = digest(Redacted.value(key.value))
  const check = (headers: Headers.Headers): ApiError | undefined => {
    const header = headers["authorization"]
    if (header === undefined) return unauthorized("missing API key: send the gateway key as 'Authorization: Bearer <key>'")
    const match = bearer.exec(header)
    if (match === null) return unauthorized("malformed Authorization header: expected 'Bearer <key>'")
    return timingSafeEqual(digest(match[1]!.trim()), expected) ? undefined : unauthorized("invalid API key")
  }
  return { enabled: true, gateway: check, admin: check }
}

/** Read `MODELGATE_MASTER_KEY` (Redacted) and log one warning when it is not set. */
export const fromConfig: Effect.Effect<Auth> = Effect.gen(function* () {
  const key = yield* Config.option(Config.redacted("MODELGATE_MASTER_KEY")).pipe(
    Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>())
  )
  const auth = fromKey(key)
  if (!auth.enabled) {
    yield* Effect.logWarning("MODELGATE_MASTER_KEY is not set: /v1/* is served without auth and /admin/* is disabled")
  }
  return auth
})
