/**
 * The egress proxy of the provider calls, from the environment as curl, the
 * openai SDK and LiteLLM read it: `HTTPS_PROXY` for `https://` providers,
 * `HTTP_PROXY` for `http://` ones, `NO_PROXY` the hosts reached directly
 * (comma- or space-separated host names, a host matching its subdomains too,
 * `host:port`, `*` for every host). The lower-case names win over the
 * upper-case ones; blank means unset. With `HTTP_PROXY` alone, `https://`
 * providers go through it too (undici's `EnvHttpProxyAgent` rule).
 *
 * A provider on this machine (`localhost` and its subdomains, `127.0.0.1`,
 * `[::1]`: a local Ollama) is always reached directly, as Go's clients do: a
 * proxy elsewhere cannot reach this machine's loopback.
 *
 * The proxy URLs may hold credentials (`http://user:password@proxy:3128`):
 * read as `Redacted`, shown by host only, a malformed one is a `ConfigError`
 * naming the variable, never its value. Through the proxy, `https://`
 * providers are reached by a `CONNECT` tunnel, `http://` ones by requests in
 * absolute form; the connection pool and timeouts are undici's defaults, as
 * without a proxy.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { ConfigError } from "@modelgate/domain/Errors"
import { Config, Effect, Option, Redacted, type Scope } from "effect"
import { type Dispatcher, EnvHttpProxyAgent } from "undici"

/** The egress proxy settings of the environment. */
export interface EgressProxy {
  /** Proxy of `http://` providers (`HTTP_PROXY`). */
  readonly http: Option.Option<Redacted.Redacted<URL>>
  /** Proxy of `https://` providers (`HTTPS_PROXY`). */
  readonly https: Option.Option<Redacted.Redacted<URL>>
  /** Hosts reached directly (`NO_PROXY`, "" when unset). */
  readonly noProxy: string
}

/** The variable `name`, lower case winning over upper case (as curl reads them); blank is unset. */
const variable = (name: string) =>
  Config.option(Config.redacted(name.toLowerCase())).pipe(
    Effect.flatMap((lower) =>
      Option.isSome(lower) && Redacted.value(lower.value).trim() !== ""
        ? Effect.succeed(Option.some({ name: name.toLowerCase(), value: Redacted.value(lower.value).trim() }))
        : Effect.map(Config.option(Config.redacted(name)), (upper) =>
          Option.filterMap(upper, (v) => {
            const value = Redacted.value(v).trim()
            return value === "" ? Option.none() : Option.some({ name, value })
          }))
    ),
    Effect.mapError(() => new ConfigError({ file: `environment variable ${name}`, path: "", reason: "could not be read" }))
  )

/** A proxy variable's URL, checked to be `http://` or `https://` with a host (the value never shown). */
const proxyUrl = (name: string) =>
  Effect.flatMap(variable(name), (found) => {
    if (Option.isNone(found)) return Effect.succeed(Option.none<Redacted.Redacted<URL>>())
    const { name: set, value } = found.value
    const url = URL.canParse(value) ? new URL(value) : undefined
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
      return Effect.fail(
        new ConfigError({
          file: `environment variable ${set}`,
          path: "",
          reason: "expected a proxy URL of the form http://[user:password@]host:port (value not shown)"
        })
      )
    }
    return Effect.succeed(Option.some(Redacted.make(url)))
  })

/** The egress proxy settings of the environment (`Config`), each URL checked. */
export const fromEnv: Effect.Effect<EgressProxy, ConfigError> = Effect.all({
  http: proxyUrl("HTTP_PROXY"),
  https: proxyUrl("HTTPS_PROXY"),
  noProxy: Effect.map(variable("NO_PROXY"), Option.match({ onNone: () => "", onSome: (v) => v.value }))
})

/** Hosts always reached directly: this machine's loopback, which no proxy elsewhere reaches. */
const loopback = ["localhost", "127.0.0.1", "[::1]"]

/** `NO_PROXY`'s hosts and the loopback ones (`*` stays all). */
export const directHosts = (noProxy: string): string =>
  noProxy.trim() === "*" ? "*" : [noProxy, ...loopback].filter((host) => host.trim() !== "").join(",")

/** A proxy URL as logs show it: scheme and host, never credentials. */
export const describeUrl = (url: Redacted.Redacted<URL>): string => {
  const { protocol, host } = Redacted.value(url)
  return `${protocol}//${host}`
}

/** The one line logged at start when a proxy is set (undefined when none is). */
export const describe = (proxy: EgressProxy): string | undefined => {
  const https = Option.orElse(proxy.https, () => proxy.http)
  const parts = [
    ...Option.toArray(Option.map(https, (url) => `https:// providers through ${describeUrl(url)}`)),
    ...Option.toArray(Option.map(proxy.http, (url) => `http:// providers through ${describeUrl(url)}`))
  ]
  if (parts.length === 0) return undefined
  return `egress proxy: ${parts.join(", ")}; direct to ${proxy.noProxy === "" ? "" : `NO_PROXY hosts (${proxy.noProxy}) and `}loopback hosts`
}

/**
 * The undici dispatcher of the provider calls, destroyed when `scope`
 * closes: undici's default `Agent` when no proxy is set, else an
 * `EnvHttpProxyAgent` over the given settings only (it reads no variable
 * itself; loopback hosts added to `NO_PROXY`'s), with the same pool and
 * timeouts; the proxy is logged once.
 */
export const dispatcher = (proxy: EgressProxy): Effect.Effect<Dispatcher, never, Scope.Scope> => {
  const line = describe(proxy)
  if (line === undefined) return NodeHttpClient.makeDispatcher
  const href = (url: Option.Option<Redacted.Redacted<URL>>) => Option.match(url, { onNone: () => "", onSome: (u) => Redacted.value(u).href })
  return Effect.zipRight(
    Effect.logInfo(line),
    Effect.acquireRelease(
      Effect.sync(() =>
        new EnvHttpProxyAgent({ httpProxy: href(proxy.http), httpsProxy: href(proxy.https), noProxy: directHosts(proxy.noProxy), proxyTunnel: false })
      ),
      (agent) => Effect.promise(() => agent.destroy())
    )
  )
}
