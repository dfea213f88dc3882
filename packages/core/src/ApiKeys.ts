/**
 * ApiKeys: provider keys read from Config, rotated round robin, set aside after
 * 401/403. Keys are `Redacted` from the moment they are read: no method, error,
 * log line or status ever holds a key's value, only its id (`openai#1`) and
 * its fingerprint (`openai~3fa9c2d1e07b4a55`, as cost records name it:
 * `ApiKeys/SharedId.ts`), given together wherever a key is named.
 *
 * Variables (environment, or a `.env` file through `dotEnvConfigProvider`):
 * - `OPENAI_API_KEY` -> provider `openai`
 * - `ANTHROPIC_API_KEY` -> provider `anthropic`
 * - `GEMINI_API_KEY`, and also `GOOGLE_API_KEY` -> provider `google`
 * - numbered extras `<NAME>_1`, `<NAME>_2`, ... for several keys per provider;
 *   reading stops at the first missing number (`_1`, `_2`, `_4` reads two extras).
 * Ollama needs no key. Empty values are ignored; a value given twice is kept once.
 *
 * Untraced (`next`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import { PlatformConfigProvider } from "@effect/platform"
import type { FileSystem } from "@effect/platform"
import { MissingApiKey } from "@modelgate/domain/Errors"
import { Context, Effect, Layer, Redacted } from "effect"
import { defaultSources, type KeySource, readKeys } from "./ApiKeys/Read.js"
import { sharedId } from "./ApiKeys/SharedId.js"
import type { ProviderKey } from "./Provider.js"

export { defaultSources, type KeySource, readKeys } from "./ApiKeys/Read.js"

/** The state of one provider's keys, without any secret. */
export interface ProviderKeyStatus {
  readonly provider: string
  readonly total: number
  readonly usable: number
  /** Each key set aside: its position id (`openai#1`), its fingerprint (`openai~` + 16 hex digits, as cost records name it) and why. */
  readonly setAside: ReadonlyArray<{ readonly id: string; readonly fingerprint: string; readonly reason: string }>
}

/** Provider API keys. */
export class ApiKeys extends Context.Tag("@modelgate/core/ApiKeys")<
  ApiKeys,
  {
    /** The next usable key of `provider`, round robin. */
    readonly next: (provider: string) => Effect.Effect<ProviderKey, MissingApiKey>
    /**
     * Every usable key of `provider` in the order one call tries them: from
     * the round robin's next key (as `next` gives it, and taking its turn as
     * `next` does) round to the one before it, each once. A call that finds a
     * key without room tries the others in this order, whatever other calls
     * take from the round robin meanwhile. Optional: without it a call tries
     * the key `next` gives.
     */
    readonly inTurn?: (provider: string) => Effect.Effect<ReadonlyArray<ProviderKey>, MissingApiKey>
    /**
     * The ids of `provider`'s usable keys (no secret), read when called: a
     * plain function, as the limiter asks it inside a ranking's step (see
     * `RateLimiter.headroomAll`). Optional: without it the selector checks a
     * model's own window only, not whether any key of its provider has room.
     */
    readonly usableIds?: (provider: string) => ReadonlyArray<string>
    /**
     * Each key's id (`openai#1`) to its id among instances on one database
     * (`ApiKeys/SharedId.ts`: the same key has the same one on every
     * instance, whatever the order keys were read in). Optional: without it
     * the limiter shares per-key windows by position id.
     */
    readonly sharedIds?: ReadonlyMap<string, string>
    /** Whether `provider` has at least one usable key (keyless providers such as Ollama have none: check `Provider.requiresKey`). */
    readonly hasKey: (provider: string) => Effect.Effect<boolean>
    /** Set a key aside (401/403); it is not handed out again. */
    readonly setAside: (provider: string, keyId: string, reason: string) => Effect.Effect<void>
    /** Per provider: how many keys, how many usable, and the ids set aside with why (no secret). */
    readonly status: Effect.Effect<ReadonlyArray<ProviderKeyStatus>>
    /** Log one warning per provider (of `providers`) without a usable key; never fails. */
    readonly validate: (providers: ReadonlyArray<string>) => Effect.Effect<void>
  }
>() {}

/** Options of `make`. */
export interface MakeOptions {
  /** Providers that need no key: `validate` does not warn about them (default `["ollama"]`). */
  readonly keyless?: ReadonlyArray<string> | undefined
  /** Where each provider's keys come from, named in messages (default `defaultSources`). */
  readonly sources?: ReadonlyArray<KeySource> | undefined
}

/** Build the service over `keys` (by provider). */
export const make = Effect.fn("ApiKeys.make")(function* (
  keys: ReadonlyMap<string, ReadonlyArray<ProviderKey>>,
  options: MakeOptions = {}
) {
  const keyless = new Set(options.keyless ?? ["ollama"])
  const sources = options.sources ?? defaultSources
  // Plain state, read and changed only inside synchronous steps (atomic): `next` is one Effect op.
  const counters = new Map<string, number>()
  const asideMap = new Map<string, string>()
  /** Usable keys (and their ids) per provider, recomputed only when a key is set aside. */
  const usableMemo = new Map<string, ReadonlyArray<ProviderKey>>()
  const idsMemo = new Map<string, ReadonlyArray<string>>()
  const readAside = Effect.sync((): ReadonlyMap<string, string> => asideMap)

  const sharedIds = new Map([...keys].flatMap(([provider, values]) => values.map((k) => [k.id, sharedId(provider, k)] as const)))
  const keysOf = (provider: string) => keys.get(provider) ?? []
  const usableOf = (provider: string, aside: ReadonlyMap<string, string>) => keysOf(provider).filter((k) => !aside.has(k.id))
  const hint = (provider: string) => {
    const variables = sources.find((s) => s.provider === provider)?.variables ?? []
    return variables.length > 0 ? ` (set ${variables.join(" or ")})` : ""
  }
  const whyMissing = (provider: string, aside: ReadonlyMap<string, string>) => {
    const all = keysOf(provider)
    if (all.length === 0) return `no key configured${hint(provider)}`
    // Each named by its fingerprint too: the position names another key on an instance that reads its keys in another order.
    return `all ${all.length} key(s) set aside: ${all.map((k) => `${k.id} (${sharedIds.get(k.id)}: ${aside.get(k.id) ?? "?"})`).join(", ")}`
  }

  const usableNow = (provider: string) => {
    let usable = usableMemo.get(provider)
    if (usable === undefined) {
      usable = usableOf(provider, asideMap)
      usableMemo.set(provider, usable)
    }
    return usable
  }

  const usableIds = (provider: string): ReadonlyArray<string> => {
    let ids = idsMemo.get(provider)
    if (ids === undefined) {
      ids = usableNow(provider).map((k) => k.id)
      idsMemo.set(provider, ids)
    }
    return ids
  }

  /** The position in `usable` of the round robin's next key, its turn taken. */
  const take = (provider: string, usable: ReadonlyArray<ProviderKey>): number => {
    const turn = counters.get(provider) ?? 0
    counters.set(provider, turn + 1)
    return turn % usable.length
  }

  const next = (provider: string): Effect.Effect<ProviderKey, MissingApiKey> =>
    Effect.suspend(() => {
      const usable = usableNow(provider)
      if (usable.length === 0) return Effect.fail(new MissingApiKey({ provider, reason: whyMissing(provider, asideMap) }))
      return Effect.succeed(usable[take(provider, usable)]!)
    })

  const inTurn = (provider: string): Effect.Effect<ReadonlyArray<ProviderKey>, MissingApiKey> =>
    Effect.suspend(() => {
      const usable = usableNow(provider)
      if (usable.length === 0) return Effect.fail(new MissingApiKey({ provider, reason: whyMissing(provider, asideMap) }))
      const first = take(provider, usable)
      return Effect.succeed(first === 0 ? usable : [...usable.slice(first), ...usable.slice(0, first)])
    })

  const setAside = Effect.fn("ApiKeys.setAside")(function* (provider: string, keyId: string, reason: string) {
    if (!keysOf(provider).some((k) => k.id === keyId)) {
      return yield* Effect.logDebug(`setAside: ${provider} has no key ${keyId}`)
    }
    const added = yield* Effect.sync(() => {
      if (asideMap.has(keyId)) return false
      asideMap.set(keyId, reason)
      usableMemo.clear()
      idsMemo.clear()
      return true
    })
    // Named by its fingerprint too: as cost records (`/admin/costs?by=key`) and the other instances name it.
    if (added) yield* Effect.logWarning(`API key ${keyId} (${sharedIds.get(keyId) ?? "?"}) of ${provider} set aside: ${reason}`)
  })

  const status = Effect.map(readAside, (aside) =>
    [...new Set([...sources.map((s) => s.provider), ...keys.keys()])].map((provider): ProviderKeyStatus => ({
      provider,
      total: keysOf(provider).length,
      usable: usableOf(provider, aside).length,
      setAside: keysOf(provider).flatMap((k) => {
        const reason = aside.get(k.id)
        return reason === undefined ? [] : [{ id: k.id, fingerprint: sharedIds.get(k.id) ?? sharedId(provider, k), reason }]
      })
    }))
  )

  const validate = Effect.fn("ApiKeys.validate")(function* (providers: ReadonlyArray<string>) {
    const aside = yield* readAside
    for (const provider of new Set(providers)) {
      if (keyless.has(provider) || usableOf(provider, aside).length > 0) continue
      yield* Effect.logWarning(`no usable API key for ${provider}: ${whyMissing(provider, aside)}; its models are unavailable`)
    }
  })

  return ApiKeys.of({
    next,
    inTurn,
    usableIds,
    sharedIds,
    hasKey: (provider) => Effect.map(readAside, (aside) => usableOf(provider, aside).length > 0),
    setAside,
    status,
    validate
  })
})

/** Keys read from `Config` (see the module doc for the variables). Never fails: a provider without keys just has none. */
export const layerConfig = (options: MakeOptions = {}): Layer.Layer<ApiKeys> =>
  Layer.effect(ApiKeys, Effect.flatMap(readKeys(options.sources), (keys) => make(keys, options)))

/** The live layer: `layerConfig()` with the default variables. */
export const layer: Layer.Layer<ApiKeys> = layerConfig()

/** Fixed keys by provider (tests, embedding): ids `provider#0`, `provider#1`, ... */
export const layerStatic = (keys: Readonly<Record<string, ReadonlyArray<string>>>, options: MakeOptions = {}): Layer.Layer<ApiKeys> =>
  Layer.effect(
    ApiKeys,
    make(
      new Map(Object.entries(keys).map(([provider, values]) => [provider, values.map((v, i) => ({ id: `${provider}#${i}`, value: Redacted.make(v) }))])),
      options
    )
  )

/**
 * Add a `.env` file (default `.env` in the working directory) to the Config
 * sources, behind the environment: a variable set in the environment wins. A
 * missing file is fine (nothing is added). Provide it under `layerConfig`.
 */
export const dotEnvConfigProvider = (path = ".env"): Layer.Layer<never, never, FileSystem.FileSystem> =>
  PlatformConfigProvider.layerDotEnvAdd(path)
