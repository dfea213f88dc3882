/**
 * @modelgate/sql: SQL stores and migrations (SQLite by default).
 */
export * as Migrations from "./Migrations.js"
export * as ModelStoreSql from "./ModelStoreSql.js"
export * as Sqlite from "./Sqlite.js"
