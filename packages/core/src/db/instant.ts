/**
 * SQL that prints a timestamptz as the API prints every instant: UTC, milliseconds, a trailing Z
 * (2026-12-01T10:15:30.123Z). The SQL files (order_json.sql and its kin) spell the same format.
 */
export const isoInstant = (expression: string) =>
  `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
