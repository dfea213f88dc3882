/**
 * Integer columns and aggregates as they come back: numbers from SQLite,
 * strings from PostgreSQL for BIGINT, `COUNT` and `SUM` (which `pg` leaves as
 * text so no digit is lost). Both decode to a number; money sums, which may
 * pass 2^53, are selected as text and decoded as `bigint` instead.
 */
import { Schema } from "effect"

/** An integer column or aggregate, from SQLite (number) or PostgreSQL (string). */
export const Int = Schema.Union(Schema.Number, Schema.NumberFromString)
