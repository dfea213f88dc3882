/**
 * Building the page's elements. Every text goes in as text (`textContent`),
 * never as markup: model ids, agent types and event reasons come from
 * requests and configuration, and must not become HTML.
 */

/** A child: an element, or text. */
export type Child = Node | string

/** An element `tag` with `className` (when given) and `children`. */
export const el = (document: Document, tag: string, className?: string, ...children: ReadonlyArray<Child>): HTMLElement => {
  const element = document.createElement(tag)
  if (className !== undefined) element.className = className
  for (const child of children) element.append(typeof child === "string" ? document.createTextNode(child) : child)
  return element
}

/** A cell: its text (or element) and whether it holds a number (aligned right). */
export interface Cell {
  readonly value: Child
  readonly numeric?: boolean
  readonly className?: string
}

/** A cell of a number (aligned right). */
export const num = (value: string): Cell => ({ value, numeric: true })

const cellClass = (cell: Cell): string | undefined =>
  [cell.numeric === true ? "num" : undefined, cell.className].filter((c) => c !== undefined).join(" ") || undefined

/** A table with a header row; `columns` numeric where marked with a leading `#`. */
export const table = (
  document: Document,
  columns: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<Cell | string>>
): HTMLTableElement => {
  const head = el(document, "tr", undefined, ...columns.map((c) => {
    const th = el(document, "th", c.startsWith("#") ? "num" : undefined, c.replace(/^#/, ""))
    th.setAttribute("scope", "col")
    return th
  }))
  const body = rows.map((row) =>
    el(document, "tr", undefined, ...row.map((cell) => {
      const c: Cell = typeof cell === "string" ? { value: cell } : cell
      return el(document, "td", cellClass(c), c.value)
    }))
  )
  return el(document, "table", undefined, el(document, "thead", undefined, head), el(document, "tbody", undefined, ...body)) as HTMLTableElement
}

/** Replace what `container` shows with `children`. */
export const show = (container: Element, ...children: ReadonlyArray<Node>): void => {
  container.replaceChildren(...children)
}
