/**
 * TokenEstimator: how many tokens a request will use, before it is sent. The
 * rate limiter reserves this many; the selector checks it against context
 * windows.
 *
 * The estimate:
 * - OpenAI-family models (provider `openai`, or a `gpt-*`, `o1`..`o9`,
 *   `chatgpt-*`, `text-*` model name): exact BPE counts with gpt-tokenizer's
 *   `o200k_base` (gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o-series, gpt-oss) or
 *   `cl100k_base` (gpt-4, gpt-3.5, embeddings) encoding, plus OpenAI's chat
 *   framing: 3 tokens per message, 1 per `name`, 3 to prime the reply. Tool
 *   definitions are counted as their JSON text; a tool result's id as at
 *   most 40 characters (what OpenAI is sent). An image is 85 tokens at
 *   `detail: "low"`, else 765 (a 1024x1024 image at high detail).
 * - Every other model (Claude, Gemini, Ollama): a count by writing system
 *   (`heuristicTokens`): a quarter of a token per ASCII letter or space, so
 *   English stays near `characters / 4`, more for digits, capitals and
 *   punctuation (numbers, ids, JSON and base64 split finely), a token per Chinese, Japanese or
 *   Korean character or accented Latin letter, three quarters per Indic or
 *   Thai character, half per Cyrillic, Greek, Hebrew or Arabic letter and
 *   three per emoji; 4 tokens of framing per message and 3 for
 *   the reply; an image is 1,600 tokens (Anthropic's cap for one image;
 *   Gemini uses 258 per tile).
 * - Audio and file parts: 1,000 tokens each, for every model.
 *
 * Counts are estimates: they round up where a provider's framing is unknown,
 * and the rate limiter settles the actual usage after the call.
 */
import type { ChatMessage, ChatRequest } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base"
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base"

/** Output tokens assumed when a request names no maximum (capped by the model's `maxOutputTokens`). */
export const defaultMaxOutputTokens = 1024

/** Tokens assumed for an audio or file part. */
export const nonTextPartTokens = 1_000

/** The tokenizer used for a model: an OpenAI BPE encoding, or the by-script heuristic (`heuristicTokens`). */
export type Encoding = "o200k_base" | "cl100k_base" | "heuristic"

const openAiName = /^(gpt-|o\d|chatgpt-|text-|davinci|babbage|codex)/

/** The encoding the estimate uses for `model` (memoised per model object: registry models are immutable values). */
export const encodingFor = (model: ModelMetadata): Encoding => {
  let encoding = encodings.get(model)
  if (encoding === undefined) {
    encoding = encodingOf(model)
    encodings.set(model, encoding)
  }
  return encoding
}

const encodings = new WeakMap<ModelMetadata, Encoding>()

const encodingOf = (model: ModelMetadata): Encoding => {
  const name = model.providerModel.toLowerCase()
  if (model.provider !== "openai" && !openAiName.test(name)) return "heuristic"
  if (/^gpt-(3\.5|4(?![.o]))/.test(name) || name.startsWith("text-") || name.startsWith("davinci") || name.startsWith("babbage")) {
    return "cl100k_base"
  }
  return "o200k_base"
}

/**
 * BPE counts of texts seen lately, per encoding: the same texts come back
 * request after request (roles, system prompts, tool definitions, a
 * conversation's earlier turns), and BPE is the costly part of an estimate.
 * Bounded in entries and in characters held (oldest dropped first); a text
 * longer than `memoMaxText` characters is counted every time.
 */
const memoMaxEntries = 4_096
const memoMaxChars = 4_000_000
const memoMaxText = 200_000

class CountMemo {
  readonly #counts = new Map<string, number>()
  #chars = 0
  constructor(readonly count: (text: string) => number) {}

  get(text: string): number {
    if (text.length > memoMaxText) return this.count(text)
    const known = this.#counts.get(text)
    if (known !== undefined) return known
    const counted = this.count(text)
    this.#counts.set(text, counted)
    this.#chars += text.length
    while (this.#counts.size > memoMaxEntries || this.#chars > memoMaxChars) {
      const oldest = this.#counts.keys().next().value as string
      this.#counts.delete(oldest)
      this.#chars -= oldest.length
    }
    return counted
  }
}

const o200k = new CountMemo(countO200k)
const cl100k = new CountMemo(countCl100k)

/** Tokens of a piece of text under `encoding`. */
export const countText = (text: string, encoding: Encoding): number => {
  if (text.length === 0) return 0
  switch (encoding) {
    case "o200k_base":
      return o200k.get(text)
    case "cl100k_base":
      return cl100k.get(text)
    case "heuristic":
      return heuristicTokens(text)
  }
}

/**
 * Tokens of `text` for a model whose tokenizer is not at hand (Claude,
 * Gemini, Ollama), by writing system, in one pass over its UTF-16 code units
 * (counted in quarter tokens):
 *
 * | code units | tokens each | what |
 * | --- | --- | --- |
 * | ASCII letters, spaces, controls | 1/4 | English words, indentation |
 * | ASCII capitals | 1/2 | acronyms, identifiers, base64 |
 * | ASCII digits | 3/4 | numbers, dates, ids, hashes |
 * | ASCII punctuation | 1/2, 3/4 the first of a run | JSON, code, CSV |
 * | U+0080-U+036F | 1 | Latin-1, Latin Extended, IPA, combining accents |
 * | U+0370-U+07FF | 1/2 | Greek, Cyrillic, Armenian, Hebrew, Arabic, Syriac |
 * | U+0800-U+2FFF | 3/4 | Indic, Thai, Georgian, Vietnamese, punctuation, symbols |
 * | U+3000-U+FFFF | 1 | CJK, kana, Hangul, fullwidth forms |
 * | surrogates | 3/2 | a character beyond the BMP (emoji): 3 tokens |
 *
 * and within ASCII a quarter more where a capital follows a small letter
 * (camelCase, base64) and half a token more where letters and digits meet
 * (`user42`, hashes, UUIDs): tokenizers split there.
 *
 * Why: Google's guide to Gemini's tokens (ai.google.dev/gemini-api/docs/tokens)
 * gives a token as about 4 characters of English, hence a quarter for a
 * letter or space. Text that is not prose splits far more finely: o200k_base
 * makes a token of 1.5-2.5 characters of numbers, CSV rows, log lines, JSON
 * records, UUIDs, hashes and base64 (at most 3 digits a token; Gemini's
 * tokenizer makes a token of every digit), which at characters / 4 was
 * reserved under half its tokens. With the factors above such text is
 * estimated at 0.9-1.6 times o200k's count, English prose at about 1.25 times
 * (Claude's tokenizer makes 16-30% more tokens than GPT-4o's of English).
 * Other scripts are split far more finely too: Cohere's multilingual tokenizer (its
 * model card, on Wikipedia text) averages 1.1 characters a token in Chinese,
 * 1.3 in Japanese, 2.0 in Korean, 3.6 in Arabic; DeepSeek's documentation
 * gives 0.6 tokens a Chinese character against 0.3 an English one. Claude's
 * tokenizer is not public, so the factors sit between the
 * two OpenAI encodings at hand, measured on sentences of each script:
 * o200k_base (200k entries; 0.25-0.4 tokens a letter of the alphabets above,
 * 0.3 an Indic or Thai character, 0.5-0.7 a CJK one) and cl100k_base (100k;
 * 0.6-1 a letter, 1 an Indic, Thai or CJK character). A Latin letter with an
 * accent splits the word it is in, about a token more. For each non-Latin
 * script the estimate is at least o200k's count and at most about 2.4 times
 * it (Hindi; Russian 1.9): a Gemini model, whose vocabulary is as large, may
 * be reserved that much too many, and the rate limiter settles the real
 * usage after the call.
 *
 * Cost: one table look-up a code unit of ASCII, a few comparisons one of
 * another script: about 8 microseconds a kilobyte of any script on a busy
 * machine (1 ms for a 100 KB prompt, once a request: `promptTokensIn`). ASCII
 * text used to be skipped by a native search, about 5 times faster, but with
 * its digits and punctuation counted as letters. Not memoised: looking up a
 * request's new string in a Map (hash, then compare) costs about as much as
 * the pass.
 */
const heuristicTokens = (text: string): number => {
  let quarters = 0
  let previous = other
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) {
      quarters += asciiStep[previous << 7 | c]!
      previous = asciiKind[c]!
    } else {
      quarters += quartersOf(c)
      previous = other
    }
  }
  return Math.ceil(quarters / 4)
}

/** Kinds of ASCII code unit, and `other` for any code unit beyond ASCII. */
const space = 0, small = 1, capital = 2, digit = 3, punctuation = 4, other = 5

/** The kind of each ASCII code unit. */
const asciiKind = Uint8Array.from({ length: 0x80 }, (_, c) =>
  c <= 0x20 || c === 0x7f
    ? space
    : c >= 0x61 && c <= 0x7a
    ? small
    : c >= 0x41 && c <= 0x5a
    ? capital
    : c >= 0x30 && c <= 0x39
    ? digit
    : punctuation)

/** Quarter tokens of an ASCII code unit of each kind. */
const asciiQuarters = [1, 1, 2, 3, 2]

/** Quarter tokens more where a code unit of kind `kind` follows one of kind `previous`. */
const seam = (previous: number, kind: number): number => {
  if (previous === small && kind === capital) return 1
  const letters = previous === small || previous === capital || kind === small || kind === capital
  if ((previous === digit) !== (kind === digit) && letters) return 2
  return kind === punctuation && previous !== punctuation ? 1 : 0
}

/**
 * Quarter tokens of ASCII code unit `c` after a code unit of kind `previous`,
 * at `previous << 7 | c`: one table look-up a code unit.
 */
const asciiStep = Uint8Array.from({ length: 6 << 7 }, (_, i) => {
  const kind = asciiKind[i & 0x7f]!
  return asciiQuarters[kind]! + seam(i >> 7, kind)
})

/** Quarter tokens of one non-ASCII UTF-16 code unit (see `heuristicTokens`). */
const quartersOf = (c: number): number => c < 0x370 ? 4 : c < 0x800 ? 2 : c < 0x3000 ? 3 : c < 0xd800 || c > 0xdfff ? 4 : 6

type Part = { readonly type: string } & Record<string, unknown>

const imageTokens = (part: Part, encoding: Encoding): number => {
  if (encoding === "heuristic") return 1_600
  const detail = (part["image_url"] as { detail?: string } | undefined)?.detail
  return detail === "low" ? 85 : 765
}

const contentTokens = (content: unknown, encoding: Encoding): number => {
  if (typeof content === "string") return countText(content, encoding)
  if (!Array.isArray(content)) return 0
  let total = 0
  for (const part of content as ReadonlyArray<Part>) {
    if (part.type === "text") total += countText(String(part["text"] ?? ""), encoding)
    else if (part.type === "image_url") total += imageTokens(part, encoding)
    else total += nonTextPartTokens
  }
  return total
}

const messageTokens = (message: ChatMessage, encoding: Encoding): number => {
  const framing = encoding === "heuristic" ? 4 : 3
  let total = framing + countText(message.role, encoding) + contentTokens(message.content, encoding)
  if ("name" in message && message.name !== undefined) total += 1 + countText(message.name, encoding)
  if (message.role === "assistant" && message.tool_calls !== undefined) {
    for (const call of message.tool_calls) {
      total += framing + countText(call.function.name, encoding) + countText(call.function.arguments, encoding)
    }
  }
  if (message.role === "tool") total += countText(sentToolCallId(message.tool_call_id, encoding), encoding)
  return total
}

/**
 * The part of a tool-call id an OpenAI model is sent: at most 40 characters
 * (a longer id goes as a 40-character stand-in). Gemini's ids carry a thought
 * signature of a few KB, which the OpenAI encodings would count as
 * thousands of tokens, slowly; other providers are sent the whole id.
 */
const sentToolCallId = (id: string, encoding: Encoding): string => (encoding === "heuristic" || id.length <= 40 ? id : id.slice(0, 40))

/**
 * Counts already made, per request object and encoding: the gateway asks for
 * the same request more than once (ranking, then each attempt), and BPE
 * counting is the costly part. Requests are immutable values.
 */
const counted = new WeakMap<ChatRequest, Partial<Record<Encoding, number>>>()

/** Estimated prompt tokens of `request` on `model` (messages, framing and tool definitions). */
export const estimatePromptTokens = (request: ChatRequest, model: ModelMetadata): number =>
  promptTokensIn(request, encodingFor(model))

/**
 * Estimated prompt tokens of `request` before a model is known (an `auto`
 * request's ranking): the by-script heuristic, with tool definitions and
 * images, audio and files counted as such (not as the characters of their
 * base64 data).
 */
export const roughPromptTokens = (request: ChatRequest): number => promptTokensIn(request, "heuristic")

const promptTokensIn = (request: ChatRequest, encoding: Encoding): number => {
  let known = counted.get(request)
  const hit = known?.[encoding]
  if (hit !== undefined) return hit
  const total = countPromptTokens(request, encoding)
  if (known === undefined) {
    known = {}
    counted.set(request, known)
  }
  known[encoding] = total
  return total
}

const countPromptTokens = (request: ChatRequest, encoding: Encoding): number => {
  let total = 3
  for (const message of request.messages) total += messageTokens(message, encoding)
  if (request.tools !== undefined && request.tools.length > 0) {
    total += countText(JSON.stringify(request.tools), encoding)
  }
  if (request.response_format !== undefined && request.response_format.type === "json_schema") {
    total += countText(JSON.stringify(request.response_format.json_schema), encoding)
  }
  return total
}

/**
 * Output tokens the request may produce: `max_completion_tokens ?? max_tokens
 * ?? min(model.maxOutputTokens, 1024)`, capped by the model's maximum, times
 * `n` choices.
 */
export const estimateOutputTokens = (request: ChatRequest, model: ModelMetadata): number => {
  const requested = request.max_completion_tokens ?? request.max_tokens ?? defaultMaxOutputTokens
  const perChoice = Math.min(requested, model.maxOutputTokens)
  return perChoice * Math.max(1, request.n ?? 1)
}

/**
 * The most output `request` may get from `model`: what it asks for
 * (`max_completion_tokens` / `max_tokens`), else the model's own output limit
 * (a provider answers up to it, not up to the estimator's default), per choice.
 */
export const mostOutputTokens = (request: ChatRequest, model: ModelMetadata): number =>
  request.max_completion_tokens != null || request.max_tokens != null
    ? estimateOutputTokens(request, model)
    : model.maxOutputTokens * Math.max(1, request.n ?? 1)

/** Tokens to reserve for `request` on `model`: estimated prompt plus the requested maximum output. */
export const estimateTokens = (request: ChatRequest, model: ModelMetadata): number =>
  estimatePromptTokens(request, model) + estimateOutputTokens(request, model)
