/**
 * The accounting stack on memory stores: the live record writer over the
 * memory `RecordStore`, with the memory `CostStore` and `MetricsStore` reading
 * the same records, and `Metrics`. For tests and for running without a
 * database; add `CostTracker.layer` on top for budgets.
 */
import { Layer } from "effect"
import * as CostStore from "../CostStore.js"
import type { Events } from "../Events.js"
import type { GatewayConfig } from "../GatewayConfig.js"
import * as Metrics from "../Metrics.js"
import * as MetricsStore from "../MetricsStore.js"
import type { RecordSink } from "../RecordSink.js"
import * as RecordStore from "../RecordStore.js"
import * as RecordWriter from "../RecordWriter.js"

/** Record writer, metrics and cost/metrics stores over an existing record store. */
export const layerOver = <E, R>(
  recordStore: Layer.Layer<RecordStore.RecordStore | RecordStore.MemoryRecordStore, E, R>
): Layer.Layer<
  | RecordSink
  | RecordWriter.RecordWriter
  | Metrics.Metrics
  | MetricsStore.MetricsStore
  | CostStore.CostStore
  | RecordStore.RecordStore
  | RecordStore.MemoryRecordStore,
  E,
  R | Events | GatewayConfig
> => {
  const stores = Layer.mergeAll(MetricsStore.layerMemory, CostStore.layerMemory).pipe(Layer.provideMerge(recordStore))
  const metrics = Metrics.layer.pipe(Layer.provideMerge(stores))
  return RecordWriter.layer.pipe(Layer.provideMerge(metrics))
}

/** The whole accounting stack in memory (needs `Events` and `GatewayConfig`). */
export const layerMemory = layerOver(RecordStore.layerMemory)
