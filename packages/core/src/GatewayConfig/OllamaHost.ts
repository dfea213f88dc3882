/**
 * `OLLAMA_HOST` as Ollama's own client reads it (`envconfig.Host` in
 * github.com/ollama/ollama): the same variable configures the server's bind
 * address, so its usual values (`0.0.0.0`, a bare host, `:11434`) must reach
 * the server they name, not port 80.
 */

const defaultPort = "11434"

/** `host`, `host:port`, `[v6]:port`, `v6` or `:port` as host and port (undefined when none is named). */
const splitHostPort = (hostport: string): { readonly host: string; readonly port: string | undefined } => {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(hostport)
  if (bracketed !== null) return { host: bracketed[1]!, port: bracketed[2] }
  const colon = hostport.indexOf(":")
  // Two colons or more without brackets: a bare IPv6 address, no port (as Go's SplitHostPort refuses it).
  if (colon < 0 || hostport.indexOf(":", colon + 1) >= 0) return { host: hostport, port: undefined }
  return { host: hostport.slice(0, colon), port: hostport.slice(colon + 1) }
}

/** This host for the addresses a server binds to listen everywhere (and for none). */
const connectable = (host: string): string =>
  host === "" || host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host

/**
 * The base URL for an `OLLAMA_HOST` value: `http` when it names no scheme,
 * port 11434 when it names neither scheme nor port (with a scheme, that
 * scheme's port), `127.0.0.1` for an empty host or `0.0.0.0` (`::1` for
 * `::`), a port that is not one replaced by the default, as Ollama does.
 */
export const ollamaBaseUrl = (value: string): string => {
  const trimmed = value.trim()
  if (trimmed === "ollama.com") return "https://ollama.com"
  const schemeEnd = trimmed.indexOf("://")
  const scheme = schemeEnd < 0 ? "http" : trimmed.slice(0, schemeEnd)
  const rest = schemeEnd < 0 ? trimmed : trimmed.slice(schemeEnd + 3)
  const slash = rest.indexOf("/")
  const path = slash < 0 ? "" : rest.slice(slash).replace(/\/+$/, "")
  const { host, port } = splitHostPort(slash < 0 ? rest : rest.slice(0, slash))
  const valid = port !== undefined && /^\d{1,5}$/.test(port) && Number(port) <= 65535 ? port : undefined
  const chosen = valid ?? (schemeEnd < 0 ? defaultPort : undefined)
  const name = connectable(host)
  return `${scheme}://${name.includes(":") ? `[${name}]` : name}${chosen === undefined ? "" : `:${chosen}`}${path}`
}
