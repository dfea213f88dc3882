/**
 * `data:` URLs (RFC 2397) read into what Anthropic, Gemini and Ollama take
 * inline: a media type and the payload in base64. A URL may be base64
 * (`data:image/png;base64,iVBOR…`), percent-encoded text or bytes
 * (`data:image/svg+xml;utf8,<svg…>`, `data:image/png,%89PNG…`), and carry
 * parameters (`;name=a.png`, `;charset=utf-8`) before its data.
 */
import { Either } from "effect"
import type { Refusal } from "./content.js"

/** A data URL's content: its media type (lower-case, without parameters) and its payload in base64. */
export interface DataUrl {
  readonly mimeType: string
  readonly data: string
}

/** Whether a URL is a `data:` URL (its scheme in any case). */
export const isDataUrl = (url: string): boolean => /^data:/i.test(url)

/** `type/subtype` in the characters RFC 6838 allows in names. */
const mediaType = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/
const hexPair = /^[0-9a-f]{2}$/i

/**
 * The bytes of percent-encoded text in base64 (characters beyond ASCII
 * taken as their UTF-8, as a URL parser would encode them), or the first
 * `%` not followed by two hex digits.
 */
const percentDecodedBase64 = (text: string): Either.Either<string, string> => {
  const bytes = Buffer.from(text, "utf8")
  const out = Buffer.alloc(bytes.length)
  let n = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x25) {
      out[n++] = bytes[i]!
      continue
    }
    const pair = bytes.toString("latin1", i + 1, i + 3)
    if (!hexPair.test(pair)) return Either.left(`it has a bad percent escape ("%${pair}")`)
    out[n++] = Number.parseInt(pair, 16)
    i += 2
  }
  return Either.right(out.toString("base64", 0, n))
}

/** A declared media type as sent: lower-case, `image/jpg` as `image/jpeg`, none as `text/plain`. */
const normalMediaType = (type: string): string => {
  const declared = type.trim().toLowerCase()
  return declared === "" ? "text/plain" : declared === "image/jpg" ? "image/jpeg" : declared
}

/**
 * The media type a data URL declares, as `parseDataUrl` gives it, read from
 * its head only (its data is not touched); undefined for a URL without a comma.
 */
export const dataUrlMediaType = (url: string): string | undefined => {
  const comma = url.indexOf(",")
  if (comma < 0) return undefined
  const semicolon = url.indexOf(";")
  return normalMediaType(url.slice("data:".length, semicolon >= 0 && semicolon < comma ? semicolon : comma))
}

/**
 * The image type the first bytes of a base64 payload show (PNG, JPEG, GIF,
 * WebP signatures), or undefined for bytes of none of them; reads 12 bytes.
 */
export const sniffedImageType = (base64: string): string | undefined => {
  const head = Buffer.from(base64.slice(0, 16), "base64")
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47 && head.readUInt32BE(4) === 0x0d0a1a0a) return "image/png"
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image/jpeg"
  const ascii = head.toString("latin1")
  if (ascii.startsWith("GIF87a") || ascii.startsWith("GIF89a")) return "image/gif"
  if (ascii.startsWith("RIFF") && ascii.slice(8, 12) === "WEBP") return "image/webp"
  return undefined
}

/**
 * The length of a data URL's payload in base64, as it is sent inline, read
 * without decoding it: a base64 payload's own length, a percent-encoded
 * one's bytes (each `%xx` one) in base64; 0 for a URL without a comma.
 */
export const inlineBase64Length = (url: string): number => {
  const comma = url.indexOf(",")
  if (comma < 0) return 0
  const head = url.slice(0, comma).toLowerCase()
  const payload = url.length - comma - 1
  if (head.endsWith(";base64")) return payload
  let escapes = 0
  for (let i = url.indexOf("%", comma); i >= 0; i = url.indexOf("%", i + 1)) escapes++
  return Math.ceil(Math.max(0, payload - 2 * escapes) / 3) * 4
}

/**
 * A `data:[<mediatype>][;<parameter>]*[;base64],<data>` URL as its media
 * type and base64 payload; Left: why it cannot be read (not a data URL, no
 * comma, no media type, no data, a bad percent escape). A base64 payload is
 * kept as written; any other is percent-decoded to its bytes. Media types
 * are case-insensitive and sent lower-case; `image/jpg` (common, and taken
 * by OpenAI, but not a registered type: Anthropic refuses it) as
 * `image/jpeg`; none given means `text/plain`, as RFC 2397 has it.
 */
export const parseDataUrl = (url: string): Either.Either<DataUrl, string> => {
  if (!isDataUrl(url)) return Either.left("it is not a data: URL")
  const comma = url.indexOf(",")
  if (comma < 0) return Either.left("it has no comma before its data")
  const [type = "", ...parameters] = url.slice("data:".length, comma).split(";")
  const mimeType = normalMediaType(type)
  if (!mediaType.test(mimeType)) return Either.left(`its media type ${JSON.stringify(type)} is not a type/subtype`)
  const payload = url.slice(comma + 1)
  if (payload === "") return Either.left("it has no data")
  const base64 = parameters.length > 0 && parameters[parameters.length - 1]!.trim().toLowerCase() === "base64"
  return base64 ? Either.right({ mimeType, data: payload }) : Either.map(percentDecodedBase64(payload), (data) => ({ mimeType, data }))
}

/** The inline content of the data URL in field `param` of a request, or its refusal naming that field. */
export const inlineDataAt = (url: string, param: string): Either.Either<DataUrl, Refusal> =>
  Either.mapLeft(parseDataUrl(url), (why) => ({ param, detail: `${param} cannot be read as a data: URL: ${why}` }))

/**
 * The inline image of the data URL in field `param` of a request, or its
 * refusal naming that field: unreadable, or of a media type outside `types`,
 * the only ones `provider` takes (it answers any other with a 400).
 */
export const inlineImageAt = (
  url: string,
  param: string,
  provider: string,
  types: ReadonlySet<string>
): Either.Either<DataUrl, Refusal> =>
  Either.flatMap(inlineDataAt(url, param), (image) =>
    types.has(image.mimeType)
      ? Either.right(image)
      : Either.left({ param, detail: `${provider} takes images as ${[...types].join(", ")}; ${param} is ${image.mimeType}` }))
