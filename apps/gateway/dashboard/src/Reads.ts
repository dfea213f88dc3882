/**
 * What the dashboard reads on each refresh. With a key: everything, at once.
 * Without one: `/ready` (it needs none), then `/v1/metrics` only when
 * `/ready` says the gateway runs without auth, and `/admin/*` never, so that
 * no call is one the gateway would refuse (each refusal is a line in the
 * browser's console); a call not made is an `unasked` answer saying why.
 */
import { type Answer, type BudgetList, type Connection, type CostReport, type Failure, getJson, type HealthList, isReady, type MetricsSnapshot, type Ready } from "./Api.js"

/** A call the page did not make (no key for it): what its panel says instead. */
const unasked = <A>(message: string): Answer<A> => ({ ok: false, failure: { status: 0, code: "unasked", message } })

/** Whether an answer is one of a call not made. */
export const isUnasked = (answer: Answer<unknown>): boolean => !answer.ok && answer.failure.code === "unasked"

/** What the panels say of the calls not made. */
export const noKey = {
  admin: "no key: enter the master key to see this",
  adminOff: "the admin API is off: the gateway runs without MODELGATE_MASTER_KEY",
  traffic: "no key: enter a gateway key to see the traffic",
  events: "no key: enter a gateway key to follow the events"
} as const

/** The answers of one refresh, and whether the gateway lets in calls without a key (`/ready`'s `keyRequired: false`). */
export interface Reads {
  readonly answers: readonly [Answer<Ready>, Answer<MetricsSnapshot>, Answer<HealthList>, Answer<CostReport>, Answer<BudgetList>]
  readonly open: boolean
}

/**
 * Read the page's data with `key` (undefined: none); `paths` are the queries
 * of the range and grouping picked. `refused`: the gateway already refused
 * `key` (401), so the calls that need it are not made again, each answered
 * with that refusal.
 */
export const readAll = async (
  connection: Connection,
  key: string | undefined,
  paths: { readonly metrics: string; readonly costs: string },
  signal: AbortSignal,
  refused?: Failure
): Promise<Reads> => {
  const readyAnswer = getJson<Ready>(connection, "/ready", signal, isReady)
  const ready = key === undefined ? await readyAnswer : undefined
  const open = ready?.ok === true && ready.value.keyRequired === false
  const keyed = <A>(path: string): Promise<Answer<A>> =>
    refused === undefined ? getJson<A>(connection, path, signal) : Promise.resolve({ ok: false, failure: refused })
  const v1 = <A>(path: string) => key !== undefined || open ? keyed<A>(path) : Promise.resolve(unasked<A>(noKey.traffic))
  const admin = <A>(path: string) =>
    key !== undefined ? keyed<A>(path) : Promise.resolve(unasked<A>(open ? noKey.adminOff : noKey.admin))
  const answers = await Promise.all([
    readyAnswer,
    v1<MetricsSnapshot>(paths.metrics),
    admin<HealthList>("/admin/health"),
    admin<CostReport>(paths.costs),
    admin<BudgetList>("/admin/budgets")
  ] as const)
  return { answers, open }
}
