/**
 * Deterministic answer-quality heuristics, each 0..1. No model calls, no
 * randomness: the same request and response always score the same.
 *
 * - completeness: finish reason (`length` 0.4, `content_filter` 0.2), empty
 *   answer, bare refusal or (when JSON was asked for) no JSON at all 0, answer length against what the prompt asks
 *   (a detailed ask expects 40+ words; "list 5 ..." expects 5 items), tool-call
 *   arguments that are valid JSON;
 * - relevance: share of the prompt's key terms (stop words removed, crude
 *   stemming; pairs of characters in Chinese, Japanese and Thai, written
 *   without spaces) found in the answer; half of them is full marks;
 * - coherence: repeated word trigrams, unbalanced code fences, an answer that
 *   stops mid-sentence, and invalid JSON when `response_format` asked for JSON.
 *
 * Bounded cost: the prompt is the last user message only, and the heuristics
 * read at most `promptChars` (8,000) characters of it and `answerChars`
 * (16,000) of the answer: a longer text is read as its first and last half of
 * that (`scoredSlice`), so a 10 MB prompt costs no more than an 8 KB one.
 * Only JSON validity (when JSON was asked for) and the count of code fences
 * read the whole answer, each in one native pass.
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import { Either, Schema } from "effect"
import { stopWords } from "./StopWords.js"

/** The three scores and their weighted sum. */
export interface Scores {
  readonly completeness: number
  readonly relevance: number
  readonly coherence: number
  readonly score: number
}

/** Relative weight of each metric. */
export interface Weights {
  readonly completeness: number
  readonly relevance: number
  readonly coherence: number
}

const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0)
const decodeJson = Schema.decodeUnknownEither(Schema.parseJson())

/** Whether `text` is valid JSON. */
export const isJson = (text: string): boolean => Either.isRight(decodeJson(text))

/** Lower-case words (letters, their combining marks and digits, every script). */
export const words = (text: string): Array<string> => text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? []

/** A crude English stem (plurals, -ing, -ed, -ly, doubled consonant, final e): "hiking" and "hike" meet. */
export const stem = (word: string): string => {
  if (word.length <= 3) return word
  let s = word
  if (s.endsWith("ies") && s.length > 4) s = `${s.slice(0, -3)}y`
  else if (s.endsWith("sses")) s = s.slice(0, -2)
  else if (/(?:x|z|ch|sh)es$/.test(s)) s = s.slice(0, -2)
  else if (s.endsWith("s") && !/(?:ss|us|is)$/.test(s)) s = s.slice(0, -1)
  if (s.endsWith("ing") && s.length >= 6) s = s.slice(0, -3)
  else if (s.endsWith("ed") && s.length >= 5) s = s.slice(0, -2)
  else if (s.endsWith("ly") && s.length >= 5) s = s.slice(0, -2)
  if (/([b-df-hj-np-tv-z])\1$/.test(s) && !/(?:ll|ss|zz)$/.test(s)) s = s.slice(0, -1)
  if (s.endsWith("e") && s.length > 3) s = s.slice(0, -1)
  return s
}

/** Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese). */
const unspacedLetters = "\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}\\p{sc=Thai}\\p{sc=Lao}\\p{sc=Khmer}\\p{sc=Myanmar}\u30fc\u3005"
const unspaced = new RegExp(`[${unspacedLetters}]`, "u")
const unspacedRuns = new RegExp(`([${unspacedLetters}]+)`, "u")

const addWordTerm = (terms: Set<string>, word: string): void => {
  if (!stopWords.has(word) && (word.length >= 3 || /^\p{N}+$/u.test(word))) terms.add(stem(word))
}

/** A run of an unspaced script as terms: its pairs of characters (a lone character itself). */
const addRunTerms = (terms: Set<string>, run: string): void => {
  const chars = Array.from(run)
  if (chars.length === 1) terms.add(run)
  for (let i = 0; i + 1 < chars.length; i++) terms.add(chars[i]! + chars[i + 1]!)
}

/**
 * The key terms of `text`: stems of words of 3+ characters (and numbers) that
 * are not stop words; text in a script written without spaces (Chinese,
 * Japanese, Thai) gives its pairs of characters, as it has no words to split.
 */
export const keyTerms = (text: string): Set<string> => {
  const terms = new Set<string>()
  for (const word of words(text)) {
    if (!unspaced.test(word)) {
      addWordTerm(terms, word)
      continue
    }
    for (const part of word.split(unspacedRuns)) {
      if (part === "") continue
      if (unspaced.test(part)) addRunTerms(terms, part)
      else addWordTerm(terms, part)
    }
  }
  return terms
}

/** Characters of the prompt the heuristics read (the first and last half of this when longer). */
export const promptChars = 8_000
/** Characters of the answer the heuristics read (the first and last half of this when longer). */
export const answerChars = 16_000

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff

/**
 * `text` as the heuristics read it: whole up to `limit` characters, else its
 * first and last `limit / 2` joined by a line break (never splitting a
 * character written as two UTF-16 units).
 */
export const scoredSlice = (text: string, limit: number): string => {
  if (text.length <= limit) return text
  const half = Math.floor(limit / 2)
  const end = isHighSurrogate(text.charCodeAt(half - 1)) ? half - 1 : half
  const tail = text.length - half
  const start = isLowSurrogate(text.charCodeAt(tail)) ? tail + 1 : tail
  return `${text.slice(0, end)}\n${text.slice(start)}`
}

const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content.flatMap((part) => (part !== null && typeof part === "object" && "text" in part && typeof part.text === "string" ? [part.text] : [])).join("\n")
  }
  return ""
}

/** What the caller asked: the last user message (system prompt when there is none). */
export const promptText = (request: ChatRequest): string => {
  const users = request.messages.filter((m) => m.role === "user")
  const last = users.at(-1) ?? request.messages.at(-1)
  return last === undefined ? "" : textOf(last.content)
}

const numberWords: Record<string, number> = { two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10 }
const countAsk =
  /\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten)\s+(?:[\p{L}-]+\s+){0,2}?(items|things|ways|reasons|examples|ideas|steps|tips|points|bullets|bullet points|options|facts|questions|names|sentences|paragraphs)\b/iu
const detailedAsk =
  /\b(explain|describe|detailed|in detail|elaborate|essay|step[- ]by[- ]step|walk me through|in depth|comprehensive|write (?:a|an) (?:article|story|essay|report|post|blog|guide|tutorial))\b/i
const listItem = /^\s*(?:[-*•+]|\d{1,3}[.)])\s+\S/u

/** How many items the prompt asks for, and of what; undefined when it does not say. */
export const requestedCount = (prompt: string): { readonly count: number; readonly unit: string } | undefined => {
  const match = countAsk.exec(prompt)
  if (match === null) return undefined
  const raw = match[1]!.toLowerCase()
  const count = numberWords[raw] ?? Number(raw)
  return count >= 2 && count <= 50 ? { count, unit: match[2]!.toLowerCase() } : undefined
}

const sentences = (text: string) => text.split(/(?<=[.!?。！？])\s+/u).filter((s) => s.trim().length > 0).length
const paragraphs = (text: string) => text.split(/\n\s*\n/).filter((p) => p.trim().length > 0).length

/** An answer that opens by declining ("I'm sorry, but I can't ...", "I cannot assist ...", "Sorry, I am unable to ..."). */
const refusalOpening =
  /^\s*(?:(?:i'?m|i am)\s+(?:so\s+|very\s+|really\s+)?sorry|sorry|i apologi[sz]e|unfortunately)?[\s,.!:;-]*(?:but\s+)?(?:i|as an ai[^,.]*,\s*i)\s+(?:can(?:no|')t|cannot|can not|won'?t|will not|am (?:not able|unable)|'m (?:not able|unable)|am not allowed|must decline)\b/iu
/** A bare refusal: a short answer (under 40 words) that opens by declining. */
export const isRefusal = (text: string): boolean => words(text).length < 40 && refusalOpening.test(text.replace(/[\u2018\u2019]/g, "'"))

/** Completeness of the first choice, 0..1. */
export const completeness = (request: ChatRequest, response: ChatResponse): number => {
  const choice = response.choices[0]
  const content = choice.message.content ?? ""
  const toolCalls = choice.message.tool_calls ?? []
  const status = choice.finish_reason === "length" ? 0.4 : choice.finish_reason === "content_filter" ? 0.2 : 1
  if (toolCalls.length > 0) {
    const valid = toolCalls.filter((call) => isJson(call.function.arguments)).length / toolCalls.length
    return clamp01(status * (0.5 + 0.5 * valid))
  }
  if (!/\S/.test(content)) return 0
  const text = scoredSlice(content, answerChars)
  if (isRefusal(text)) return 0
  // Prose where JSON was asked for is nothing the client can read: not an answer.
  if (jsonScore(request, content) === 0) return 0
  const prompt = scoredSlice(promptText(request), promptChars)
  const expectedWords = detailedAsk.test(prompt) ? 40 : 1
  const lengthFactor = Math.sqrt(Math.min(1, words(text).length / expectedWords))
  const asked = requestedCount(prompt)
  let countFactor = 1
  if (asked !== undefined) {
    const found =
      asked.unit === "sentences"
        ? sentences(text)
        : asked.unit === "paragraphs"
          ? paragraphs(text)
          : text.split("\n").filter((line) => listItem.test(line)).length || sentences(text)
    countFactor = Math.min(1, found / asked.count)
  }
  return clamp01(status * lengthFactor * countFactor)
}

/** The answer's text for relevance: content, tool names and arguments. */
const answerText = (response: ChatResponse): string => {
  const message = response.choices[0].message
  const calls = (message.tool_calls ?? []).map((call) =>
    scoredSlice(`${call.function.name.replace(/_/g, " ")} ${call.function.arguments}`, answerChars)
  )
  return scoredSlice([scoredSlice(message.content ?? "", answerChars), ...calls].join("\n"), answerChars)
}

/** Relevance of the first choice to the prompt, 0..1 (1 when the prompt has no key terms). */
export const relevance = (request: ChatRequest, response: ChatResponse): number => {
  const asked = keyTerms(scoredSlice(promptText(request), promptChars))
  if (asked.size === 0) return 1
  const answered = keyTerms(scoredSlice(answerText(response), answerChars))
  let matched = 0
  for (const term of asked) if (answered.has(term)) matched++
  return clamp01(matched / asked.size / 0.5)
}

/** 1 for varied text, falling to 0 as word trigrams repeat (texts under 12 words: 1). */
export const repetitionScore = (text: string): number => {
  const ws = words(text)
  if (ws.length < 12) return 1
  const grams = new Set<string>()
  for (let i = 0; i + 2 < ws.length; i++) grams.add(`${ws[i]} ${ws[i + 1]} ${ws[i + 2]}`)
  const unique = grams.size / (ws.length - 2)
  return clamp01((unique - 0.2) / 0.6)
}

const blank = /[^\S\n]/

/** Whether only blanks stand between the start of its line and `at`. */
const startsLine = (text: string, at: number): boolean => {
  let i = at - 1
  while (i >= 0 && text[i] !== "\n" && blank.test(text[i]!)) i--
  return i < 0 || text[i] === "\n"
}

/** Lines that open with ``` or ~~~ (after blanks): a native search for each mark, one check per line it is on. */
const fenceLines = (text: string): number => {
  let count = 0
  for (let i = 0; i < text.length;) {
    const tick = text.indexOf("```", i)
    const tilde = text.indexOf("~~~", i)
    const at = tick === -1 ? tilde : tilde === -1 ? tick : Math.min(tick, tilde)
    if (at === -1) break
    if (startsLine(text, at)) count++
    const eol = text.indexOf("\n", at)
    i = eol === -1 ? text.length : eol + 1
  }
  return count
}

/** 0.5 for an odd number of ``` fences, else 1 (over the whole text, as a slice would cut code blocks). */
export const fenceScore = (text: string): number => fenceLines(text) % 2 === 1 ? 0.5 : 1

/** 0.8 when a longer answer that finished normally stops mid-sentence, else 1. */
export const endingScore = (text: string, finishReason: string): number => {
  if (finishReason !== "stop" || words(text).length < 20) return 1
  const lines = text.trimEnd().split("\n")
  const last = lines.at(-1)?.trim() ?? ""
  if (listItem.test(last) || /^(#|\||```|~~~)/.test(last)) return 1
  return /[.!?:;)"'`\]}*>。！？…]$/u.test(last) || /\p{Extended_Pictographic}$/u.test(last) ? 1 : 0.8
}

/** When JSON was asked for: 1 valid, 0.6 valid only inside a code fence, 0 invalid; 0.7 when required keys are missing. */
export const jsonScore = (request: ChatRequest, content: string): number => {
  const format = request.response_format
  if (format === undefined || format.type === "text") return 1
  const trimmed = content.trim()
  const fenced = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```$/.exec(trimmed)?.[1]
  const body = isJson(trimmed) ? trimmed : fenced !== undefined && isJson(fenced) ? fenced : undefined
  if (body === undefined) return 0
  let score = body === trimmed ? 1 : 0.6
  if (format.type === "json_schema") {
    const required = format.json_schema.schema?.["required"]
    const parsed = decodeJson(body)
    if (Array.isArray(required) && Either.isRight(parsed)) {
      const value = parsed.right
      const present = value !== null && typeof value === "object" && !Array.isArray(value)
      if (!present || !required.every((key) => typeof key === "string" && key in value)) score *= 0.7
    }
  }
  return score
}

/** Coherence of the first choice, 0..1. */
export const coherence = (request: ChatRequest, response: ChatResponse): number => {
  const choice = response.choices[0]
  const content = choice.message.content ?? ""
  const toolCalls = choice.message.tool_calls ?? []
  if (!/\S/.test(content)) {
    if (toolCalls.length === 0) return 0
    return toolCalls.every((call) => isJson(call.function.arguments)) ? 1 : 0.5
  }
  const text = scoredSlice(content, answerChars)
  return clamp01(
    repetitionScore(text) * fenceScore(content) * endingScore(text, choice.finish_reason) * jsonScore(request, content)
  )
}

/** All three scores and their weighted mean (weights normalised; all-zero weights mean equal weights). */
export const evaluate = (request: ChatRequest, response: ChatResponse, weights: Weights): Scores => {
  const parts = {
    completeness: completeness(request, response),
    relevance: relevance(request, response),
    coherence: coherence(request, response)
  }
  const total = weights.completeness + weights.relevance + weights.coherence
  const w = total > 0 ? weights : { completeness: 1, relevance: 1, coherence: 1 }
  const sum = total > 0 ? total : 3
  const score = (w.completeness * parts.completeness + w.relevance * parts.relevance + w.coherence * parts.coherence) / sum
  return { ...parts, score: clamp01(score) }
}
