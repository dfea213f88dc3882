/**
 * The dashboard's calls of the gateway's JSON API, with the key its user
 * typed, and the shapes of the answers it reads (only the fields it shows).
 */

/** Why a call gave no data: the gateway's status and its error message (status 0: no answer). */
export interface Failure {
  readonly status: number
  readonly code: string | undefined
  readonly message: string
}

/** A call's outcome. */
export type Answer<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly failure: Failure }

/** What the dashboard needs to reach the gateway. */
export interface Connection {
  /** The gateway's origin, e.g. `http://127.0.0.1:8787`. */
  readonly base: string
  readonly fetch: typeof globalThis.fetch
  /** The key sent as `Authorization: Bearer <key>`; undefined: none. */
  readonly key: () => string | undefined
}

/** The headers of a call: the key when there is one. */
export const headersOf = (connection: Connection): Record<string, string> => {
  const key = connection.key()
  return key === undefined ? {} : { authorization: `Bearer ${key}` }
}

/** The gateway's OpenAI-shaped error message of a refused call, else the status alone. */
export const failureOf = async (response: Response): Promise<Failure> => {
  const text = await response.text().catch(() => "")
  try {
    const error = (JSON.parse(text) as { error?: { message?: unknown; code?: unknown } }).error
    if (typeof error?.message === "string") {
      return { status: response.status, code: typeof error.code === "string" ? error.code : undefined, message: error.message }
    }
  } catch {
    // not JSON: the status alone says it
  }
  return { status: response.status, code: undefined, message: `HTTP ${response.status}` }
}

/** A failure in words: the gateway's status and message, or why there was no answer. */
export const describe = (failure: Failure): string => (failure.status === 0 ? failure.message : `${failure.status}: ${failure.message}`)

/**
 * GET `path` and read its JSON; a refusal or no answer is a `Failure`, never a
 * throw. A refusal whose JSON body `isReport` accepts is read as the answer
 * (`/ready` answers 503 with its report when no provider can serve).
 */
export const getJson = async <A>(
  connection: Connection,
  path: string,
  signal?: AbortSignal,
  isReport?: (body: unknown) => boolean
): Promise<Answer<A>> => {
  try {
    const response = await connection.fetch(connection.base + path, { headers: headersOf(connection), ...(signal === undefined ? {} : { signal }) })
    if (!response.ok) {
      const body: unknown = isReport === undefined ? undefined : await response.clone().json().catch(() => undefined)
      const report = isReport?.(body) === true ? body : undefined
      return report === undefined ? { ok: false, failure: await failureOf(response) } : { ok: true, value: report as A }
    }
    return { ok: true, value: (await response.json()) as A }
  } catch (error) {
    return { ok: false, failure: { status: 0, code: undefined, message: `the gateway did not answer: ${error instanceof Error ? error.message : String(error)}` } }
  }
}

/** Whether a body is `/ready`'s report (with its providers). */
export const isReady = (body: unknown): boolean =>
  typeof body === "object" && body !== null && Array.isArray((body as { providers?: unknown }).providers)

/** `/ready`: each provider's readiness and the records' state. */
export interface Ready {
  readonly status: string
  /** Whether `/v1/*` needs a key (false: the gateway runs without auth). */
  readonly keyRequired?: boolean
  readonly providers: ReadonlyArray<{
    readonly provider: string
    readonly ready: boolean
    readonly requiresKey: boolean
    readonly hasKey: boolean
    readonly keys?: { readonly total: number; readonly usable: number }
    readonly availableModels: ReadonlyArray<string>
    readonly unavailableModels: ReadonlyArray<{ readonly model: string; readonly reason: string }>
  }>
  readonly records?: { readonly pending: number; readonly written: number; readonly dropped: number; readonly degraded: boolean }
}

/** `/admin/health`: each model's health. */
export interface HealthList {
  readonly data: ReadonlyArray<{
    readonly model: string
    readonly status: string
    readonly consecutiveFailures: number
    readonly lastLatencyMs?: number | null
    readonly reason?: string | null
    readonly blocked?: boolean
  }>
}

/** The figures of `/v1/metrics` the dashboard shows, in total and per model. */
export interface Figures {
  readonly requests: number
  readonly successes: number
  readonly errors: number
  readonly cacheHits: number
  readonly costUsd: number
  readonly totalTokens: number
  readonly failovers: number
  readonly errorRate: number | null
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null }
}

/** `/v1/metrics`. */
export interface MetricsSnapshot {
  readonly totals: Figures
  readonly models: ReadonlyArray<{ readonly model: string; readonly provider: string; readonly metrics: Figures }>
}

/** `/admin/costs`. */
export interface CostReport {
  readonly by: string
  readonly totalUsd: number
  readonly groups: ReadonlyArray<{
    readonly key: string
    readonly costUsd: number
    readonly requests: number
    readonly cacheHits: number
    readonly promptTokens: number
    readonly completionTokens: number
    /** Parts of `promptTokens` (prompt-cache reads and writes) and of `completionTokens` (reasoning); absent from an older gateway. */
    readonly cachedTokens?: number
    readonly cacheWriteTokens?: number
    readonly reasoningTokens?: number
  }>
}

/** `/admin/budgets`. */
export interface BudgetList {
  readonly data: ReadonlyArray<{
    readonly budget: string
    readonly period: string
    readonly periodEnd: number
    readonly limitUsd: number
    readonly spentUsd: number
    readonly reservedUsd: number
    readonly used: number | null
  }>
}

/** One event of `/v1/events`: its tag and time, and whatever else its kind carries. */
export interface GatewayEvent {
  readonly _tag: string
  readonly at?: number
  readonly [field: string]: unknown
}
