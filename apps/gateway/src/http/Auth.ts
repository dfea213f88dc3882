/**
 * Gateway auth. `MODELGATE_MASTER_KEY` (read once, `Redacted`) guards `/v1/*`
 * and `/admin/*` as a Bearer token; the teams' virtual keys
 * (`auth.virtualKeys` of the configuration, kept as SHA-256 digests and
 * followed across reloads) open `/v1/*` only, a request with one is
 * accounted to its team's agent type, and a key's `rpm` bounds its chat
 * requests over a sliding minute (a reload that changes it keeps the
 * minute's count). With neither, `/v1/*` is open (one
 * warning at start) and `/admin/*` answers 403.
 */
import type { Headers } from "@effect/platform"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import type { VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { Config, Effect, Option, Redacted, type Scope, Stream } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { ApiError } from "./ApiError.js"
import * as KeyWindow from "./KeyWindow.js"

/** Checks a request's bearer token. */
export interface Auth {
  /** `undefined` when a request with these headers may use `/v1/*`, else the 401 to answer. */
  readonly gateway: (headers: Headers.Headers) => ApiError | undefined
  /** `undefined` when a request with these headers may use `/admin/*` (the master key only), else the 401 / 403. */
  readonly admin: (headers: Headers.Headers) => ApiError | undefined
  /** The virtual key a request came with, if any: its `agentType` and `models` bind the request. */
  readonly virtualKeyOf: (headers: Headers.Headers) => VirtualKey | undefined
  /**
   * For a chat request `gateway` let in: `undefined` when its key is within its
   * `rpm` (the request is counted), else the 429 with the time until it may retry.
   */
  readonly throttle: (headers: Headers.Headers) => ApiError | undefined
  /** The 429 `throttle` would answer now for a chat request with the key named `name`, counting nothing (dry runs). */
  readonly throttledNow: (name: string) => ApiError | undefined
  /** The virtual keys in force, without their digests, with the chat requests of the last minute of each limited one. */
  readonly virtualKeys: () => ReadonlyArray<VirtualKeyUse>
  /** Replace the virtual keys (a configuration reload). */
  readonly setVirtualKeys: (keys: ReadonlyArray<VirtualKey>) => void
}

/** A virtual key as the admin API shows it: never its digest. */
export interface VirtualKeyUse {
  readonly name: string
  readonly agentType?: string | undefined
  readonly rpm?: number | undefined
  readonly models?: ReadonlyArray<string> | undefined
  /** Chat requests admitted in the last minute (keys with an `rpm`). */
  readonly lastMinute?: number | undefined
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

const notAdmin = (key: VirtualKey) =>
  new ApiError({
    status: 403,
    type: "permission_error",
    code: "virtual_key_not_admin",
    message: `virtual key ${JSON.stringify(key.name)} cannot use the admin API: it needs MODELGATE_MASTER_KEY`
  })

const bearer = /^Bearer\s+(.+)$/i

/** The token of a request's `Authorization: Bearer` header, or the 401 for a missing or malformed one. */
const tokenOf = (headers: Headers.Headers): string | ApiError => {
  const header = headers["authorization"]
  if (header === undefined) return unauthorized("missing API key: send the gateway key as 'Authorization: Bearer <key>'")
  const match = bearer.exec(header)
  if (match === null) return unauthorized("malformed Authorization header: expected 'Bearer <key>'")
  return match[1]!.trim()
}

/**
 * Auth from a master key and virtual keys. Without either, `/v1/*` is open and
 * `/admin/*` answers 403; virtual keys without a master key close `/v1/*` to
 * everyone else and leave `/admin/*` disabled.
 */
export const make = (
  masterKey: Option.Option<Redacted.Redacted<string>>,
  initialKeys: ReadonlyArray<VirtualKey> = [],
  now: () => number = Date.now
): Auth => {
  const master = Option.match(Option.filter(masterKey, (k) => Redacted.value(k) !== ""), {
    onNone: () => undefined,
    onSome: (k) => digest(Redacted.value(k))
  })
  let byDigest = new Map<string, VirtualKey>()
  // Each limited key's window, by name: a reload keeps a key's count, whatever its rpm becomes.
  let windows = new Map<string, KeyWindow.KeyWindow>()
  const setVirtualKeys = (keys: ReadonlyArray<VirtualKey>) => {
    byDigest = new Map(keys.map((k) => [k.sha256.toLowerCase(), k]))
    const kept = new Map<string, KeyWindow.KeyWindow>()
    for (const key of keys) {
      if (key.rpm === undefined) continue
      const window = windows.get(key.name)
      kept.set(
        key.name,
        window === undefined ? KeyWindow.make(key.rpm) : window.rpm === key.rpm ? window : KeyWindow.make(key.rpm, window.admitted(now()))
      )
    }
    windows = kept
  }
  setVirtualKeys(initialKeys)
  // The virtual key a request was let in with (by its headers object): `virtualKeyOf` reads it without hashing again.
  const admitted = new WeakMap<object, VirtualKey>()

  /** Who a token is: the master key, a virtual key, or nobody (the 401). */
  const identify = (headers: Headers.Headers): "master" | VirtualKey | ApiError => {
    const token = tokenOf(headers)
    if (typeof token !== "string") return token
    const hash = digest(token)
    if (master !== undefined && timingSafeEqual(hash, master)) return "master"
    const key = byDigest.get(hash.toString("hex"))
    return key ?? unauthorized("invalid API key")
  }

  const gateway = (headers: Headers.Headers): ApiError | undefined => {
    if (master === undefined && byDigest.size === 0) return undefined
    const who = identify(headers)
    if (who instanceof ApiError) return who
    if (who !== "master") admitted.set(headers, who)
    return undefined
  }

  const admin = (headers: Headers.Headers): ApiError | undefined => {
    if (master === undefined) return adminDisabled
    const who = identify(headers)
    return who === "master" ? undefined : who instanceof ApiError ? who : notAdmin(who)
  }

  const virtualKeyOf = (headers: Headers.Headers): VirtualKey | undefined => {
    // The key a request was let in with binds it to its end, even when a reload has since removed every key.
    const known = admitted.get(headers)
    if (known !== undefined) return known
    if (byDigest.size === 0) return undefined
    const who = identify(headers)
    return who === "master" || who instanceof ApiError ? undefined : who
  }

  const overLimit = (name: string, rpm: number, wait: number) =>
    new ApiError({
      status: 429,
      type: "rate_limit_error",
      code: "virtual_key_rate_limited",
      message: `virtual key ${JSON.stringify(name)} is over its limit of ${rpm} requests a minute; retry in ${Math.ceil(wait / 1000)} s`,
      retryAfterMs: wait
    })

  const throttle = (headers: Headers.Headers): ApiError | undefined => {
    if (windows.size === 0) return undefined
    const key = virtualKeyOf(headers)
    const window = key === undefined ? undefined : windows.get(key.name)
    const wait = window?.admit(now())
    return wait === undefined ? undefined : overLimit(key!.name, window!.rpm, wait)
  }

  const throttledNow = (name: string): ApiError | undefined => {
    const window = windows.get(name)
    const wait = window?.wait(now())
    return wait === undefined ? undefined : overLimit(name, window!.rpm, wait)
  }

  const virtualKeys = (): ReadonlyArray<VirtualKeyUse> => {
    const at = now()
    return [...byDigest.values()].map((key) => {
      const window = windows.get(key.name)
      return { name: key.name, agentType: key.agentType, rpm: key.rpm, models: key.models, lastMinute: window?.used(at) }
    })
  }

  return { gateway, admin, virtualKeyOf, throttle, throttledNow, virtualKeys, setVirtualKeys }
}

/**
 * Read `MODELGATE_MASTER_KEY` (Redacted, trimmed) and the virtual keys of the running
 * configuration, follow the keys across reloads (in the current scope), and
 * log one warning at start when `/v1/*` is open or `/admin/*` disabled. With a
 * `ModelRegistry`, the models keys list that it lacks are warned of at start
 * and after each reload (of either file) that changes them.
 */
export const fromConfig: Effect.Effect<Auth, never, GatewayConfig | Scope.Scope> = Effect.gen(function* () {
  // Trimmed, as the providers' keys are: a key pasted with its newline (a secret file, `.env`) must still match.
  const key = yield* Config.option(Config.redacted("MODELGATE_MASTER_KEY")).pipe(
    Effect.map(Option.map((raw) => (Redacted.value(raw).trim() === Redacted.value(raw) ? raw : Redacted.make(Redacted.value(raw).trim())))),
    Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>())
  )
  const config = yield* GatewayConfig
  const keys = (yield* config.get).auth.virtualKeys
  const clock = yield* Effect.clock
  const auth = make(key, keys, () => clock.unsafeCurrentTimeMillis())
  const hasMaster = Option.isSome(key) && Redacted.value(key.value) !== ""
  if (!hasMaster && keys.length === 0) {
    yield* Effect.logWarning("MODELGATE_MASTER_KEY is not set: /v1/* is served without auth and /admin/* is disabled")
  } else if (!hasMaster) {
    yield* Effect.logWarning("MODELGATE_MASTER_KEY is not set: /admin/* is disabled; /v1/* needs a virtual key")
  }
  const registry = Option.getOrUndefined(yield* Effect.serviceOption(ModelRegistry))
  if (registry !== undefined) {
    // At start, then whenever a reload (of either file, or a model added through the admin API) changes the set.
    let said = unknownModels(keys, yield* registry.all)
    if (said !== "") yield* warnUnknownModels(said)
    yield* Stream.zipLatest(registry.changes, config.changes).pipe(
      Stream.runForEach(([models, next]) =>
        Effect.suspend(() => {
          const unknown = unknownModels(next.auth.virtualKeys, models)
          if (unknown === said) return Effect.void
          said = unknown
          return unknown === "" ? Effect.void : warnUnknownModels(unknown)
        })
      ),
      Effect.forkScoped
    )
  }
  let current = names(keys)
  yield* config.changes.pipe(
    Stream.runForEach((next) =>
      Effect.suspend(() => {
        auth.setVirtualKeys(next.auth.virtualKeys)
        const now = names(next.auth.virtualKeys)
        if (now === current) return Effect.void
        current = now
        return Effect.logInfo(`virtual keys now: ${now === "" ? "none" : now}`)
      })
    ),
    Effect.forkScoped
  )
  return auth
})

/** Each model a key lists that `models` lack, as `'id' (key 'name')`, comma-separated ("" for none). */
const unknownModels = (keys: ReadonlyArray<VirtualKey>, models: ReadonlyArray<{ readonly id: string }>): string => {
  if (!keys.some((k) => k.models !== undefined)) return ""
  const known = new Set<string>(models.map((m) => m.id))
  return keys.flatMap((k) => (k.models ?? []).filter((id) => !known.has(id)).map((id) => `'${id}' (key '${k.name}')`)).join(", ")
}

/**
 * Warn of the models keys list that the registry does not have (`unknownModels`):
 * such an id never matches, so the key can never use it. Not an error: models
 * added through the admin API live in the database, and a model may be added later.
 */
const warnUnknownModels = (unknown: string) =>
  Effect.logWarning(`virtual keys list models the registry does not have, which they can never use: ${unknown}`)

const names = (keys: ReadonlyArray<VirtualKey>): string => keys.map((k) => k.name).join(", ")
