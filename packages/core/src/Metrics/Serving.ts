/**
 * Where each model is served now, as the records tell it: the provider of the
 * model's most recently SENT call or probe (a record's `at - latencyMs`). A
 * call sent to the old provider before a move that ends after it is older
 * than the first probe or call at the new one, so it does not move the model
 * back. `/metrics` exposes a model's gauges under this provider only: a gauge
 * left under the old label would keep reporting the model there.
 */
import type { GatewayRecord } from "@modelgate/domain/Records"

/** Each model's current provider, from the performance and health records observed. */
export class Serving {
  private readonly providers = new Map<string, string>()
  private readonly sentAt = new Map<string, number>()

  /** Take `record` into account (records other than performance and health, or naming no provider, change nothing). */
  observe(record: GatewayRecord): void {
    if (record._tag !== "PerformanceRecord" && record._tag !== "HealthCheckRecord") return
    const provider = record.provider
    if (provider === undefined || provider === "") return
    const sent = record.at - record.latencyMs
    const latest = this.sentAt.get(record.model)
    if (latest !== undefined && sent < latest) return
    this.sentAt.set(record.model, sent)
    this.providers.set(record.model, provider)
  }

  /** The provider `model` is served by now; undefined before any record of it named one. */
  providerOf(model: string): string | undefined {
    return this.providers.get(model)
  }
}
