/**
 * How an answer's cost is written: the `x-modelgate-cost-usd` header (a
 * complete answer, a cache replay) or trailer (a stream, whose cost is known
 * at its end), as a USD amount without exponent notation.
 */

/** The header (or trailer) that carries an answer's cost. */
export const costHeader = "x-modelgate-cost-usd"

/** A USD amount without exponent notation (`0.0000015`). */
export const formatUsd = (usd: number): string => {
  const fixed = usd.toFixed(12)
  if (!fixed.includes(".")) return fixed
  // Trailing zeros, then a trailing dot, trimmed by index (no regular expressions per answer).
  let end = fixed.length
  while (fixed.charCodeAt(end - 1) === 48) end--
  if (fixed.charCodeAt(end - 1) === 46) end--
  return fixed.slice(0, end)
}
