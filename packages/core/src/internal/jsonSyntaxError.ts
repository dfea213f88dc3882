/**
 * Why a text is not JSON, in words that never quote it. V8's `JSON.parse`
 * says "Unexpected token 'm', ...""sha256": mg-Q2hvY29"... is not valid JSON":
 * the ten characters either side of the token, which in a configuration file
 * may be a key pasted where its digest belongs. The quote is replaced by the
 * token's line and column, found from it. V8's other messages name a
 * character offset ("in JSON at position 2178"; Node 22 adds the line and
 * column), which is read here as the line and column an editor shows.
 */

/** V8's quote of the text around an unexpected token: up to this many characters either side. */
const quoted = 10

const unexpectedToken = /^(Unexpected token '.*?'), (\.\.\.)?"([\s\S]*)"(\.\.\.)? is not valid JSON$/

/** `Expected ',' or '}' after property value in JSON at position 11`, with Node 22's ` (line 2 column 9)`. */
const atPosition = /^(.*?) in JSON at position (\d+)(?: \(line \d+ column \d+\))?$/s

/** `line L column C` of the UTF-16 offset `at` of `text` (both 1-based). */
const lineColumn = (text: string, at: number): string => {
  const before = text.slice(0, at)
  const line = before.split("\n").length
  return `line ${line} column ${at - before.lastIndexOf("\n")}`
}

/** The reason `JSON.parse(text)` failed with `message`, without any of `text` but the unexpected character. */
export const jsonSyntaxReason = (text: string, message: string): string => {
  if (text.trim() === "") return "the file is empty"
  const positioned = atPosition.exec(message)
  if (positioned !== null) return `${positioned[1]} at ${lineColumn(text, Number(positioned[2]))}`
  const match = unexpectedToken.exec(message)
  if (match === null) return message
  const [, token, cutBefore, context, cutAfter] = match as unknown as [string, string, string | undefined, string, string | undefined]
  // Quoted from `max(0, at - 10)` to `min(length, at + 10)`: cut before, it starts 10 before; else at 0.
  const start = cutBefore !== undefined ? text.indexOf(context) : 0
  const at = cutBefore !== undefined ? start + quoted : cutAfter !== undefined ? context.length - quoted : -1
  return start < 0 || at < 0 ? token : `${token} at ${lineColumn(text, at)}`
}
