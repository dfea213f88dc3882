/**
 * The migrations, statically imported so they ship inside the package and run
 * before the first query.
 */
import { Migrator } from "@effect/sql"
import models from "./migrations/0001_models.js"
import records from "./migrations/0002_records.js"
import cache from "./migrations/0003_cache.js"
import recordBatches from "./migrations/0004_record_batches.js"
import dropUnusedRecordIndexes from "./migrations/0005_drop_unused_record_indexes.js"
import healthCheckProvider from "./migrations/0006_health_check_provider.js"
import failoverProvider from "./migrations/0007_failover_provider.js"
import costRecordInstance from "./migrations/0008_cost_record_instance.js"
import recordRetentionIndexes from "./migrations/0009_record_retention_indexes.js"
import limiterUsage from "./migrations/0010_limiter_usage.js"
import healthMarks from "./migrations/0011_health_marks.js"
import eventLog from "./migrations/0012_event_log.js"
import cachePurges from "./migrations/0013_cache_purges.js"
import failoverAgentType from "./migrations/0014_failover_agent_type.js"
import budgetAlertExactLimit from "./migrations/0015_budget_alert_exact_limit.js"
import costRecordTokenBreakdown from "./migrations/0016_cost_record_token_breakdown.js"

/**
 * The failures of `Sqlite.migrations` and `Postgres.migrations` beside the
 * migrator's own: a database behind after migrating, one newer than this
 * build, one behind on a connection that takes no writes.
 */
export { MigrationsNeedWrites, MigrationsPending, SchemaNewerThanBuild } from "./internal/migrateFully.js"

/** Every migration, by `<id>_<name>`. Add new ones with the next id; never edit a shipped one. */
export const loader = Migrator.fromRecord({
  "0001_models": models,
  "0002_records": records,
  "0003_cache": cache,
  "0004_record_batches": recordBatches,
  "0005_drop_unused_record_indexes": dropUnusedRecordIndexes,
  "0006_health_check_provider": healthCheckProvider,
  "0007_failover_provider": failoverProvider,
  "0008_cost_record_instance": costRecordInstance,
  "0009_record_retention_indexes": recordRetentionIndexes,
  "0010_limiter_usage": limiterUsage,
  "0011_health_marks": healthMarks,
  "0012_event_log": eventLog,
  "0013_cache_purges": cachePurges,
  "0014_failover_agent_type": failoverAgentType,
  "0015_budget_alert_exact_limit": budgetAlertExactLimit,
  "0016_cost_record_token_breakdown": costRecordTokenBreakdown
})
