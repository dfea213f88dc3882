/**
 * The readable text of an HTML page (a proxy's or load balancer's error page
 * in place of the provider's JSON): what an error's excerpt quotes of it.
 */

/** Elements whose content is not text a reader sees. */
const hidden = ["script", "style"] as const

/**
 * Whether an answer's body is an HTML page: its `content-type` says so, or
 * (a proxy that labels it wrongly) the body opens as one.
 */
export const isHtml = (contentType: string | undefined, body: string): boolean =>
  (contentType !== undefined && /\bhtml\b/i.test(contentType)) || /^\s*<(!doctype\s+html|html)\b/i.test(body)

const entities: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: " ", "#39": "'" }

/**
 * The text of `html`: comments, `<script>` and `<style>` content and every
 * tag left out (a tag becomes a space), the common entities decoded. One
 * pass (no backtracking): an unclosed comment or tag ends the text.
 */
export const htmlText = (html: string): string => {
  const lower = html.toLowerCase()
  let out = ""
  let i = 0
  while (i < html.length) {
    const open = html.indexOf("<", i)
    if (open < 0) {
      out += html.slice(i)
      break
    }
    out += html.slice(i, open)
    if (html.startsWith("<!--", open)) {
      const end = html.indexOf("-->", open + 4)
      if (end < 0) break
      i = end + 3
      out += " "
      continue
    }
    const close = html.indexOf(">", open)
    if (close < 0) break
    i = close + 1
    out += " "
    const element = hidden.find((name) => lower.startsWith(name, open + 1) && !/[a-z0-9-]/.test(lower[open + 1 + name.length] ?? ""))
    if (element !== undefined) {
      const end = lower.indexOf(`</${element}`, i)
      if (end < 0) break
      i = end
    }
  }
  return out.replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_, name: string) => entities[name] ?? "")
}
