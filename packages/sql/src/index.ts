/**
 * @modelgate/sql: SQL stores and migrations (SQLite by default).
 */
export * as CacheStoreSql from "./CacheStoreSql.js"
export * as CostStoreSql from "./CostStoreSql.js"
export * as EventLogStoreSql from "./EventLogStoreSql.js"
export * as HealthMarkStoreSql from "./HealthMarkStoreSql.js"
export * as LimiterUsageStoreSql from "./LimiterUsageStoreSql.js"
export * as Migrations from "./Migrations.js"
export * as MetricsStoreSql from "./MetricsStoreSql.js"
export * as ModelStoreSql from "./ModelStoreSql.js"
export * as RecordRetention from "./RecordRetention.js"
export * as RecordStoreSql from "./RecordStoreSql.js"
export * as RecordWorker from "./RecordWorker.js"
export * as Sqlite from "./Sqlite.js"
