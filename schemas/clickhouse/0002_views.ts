/**
 * Migration 2: the views analysts query. Every view reads its table with FINAL, so each
 * idempotency key (dlq: each source message) appears once whether or not ReplacingMergeTree has
 * merged the copies yet; OPTIMIZE is never needed for correctness.
 *
 * Why FINAL rather than GROUP BY idempotency_key + argMax: on 18.16.1, over 9M metric rows in 7
 * unmerged parts (3M distinct), an hourly rollup took 0.55 s without dedup, 2.0 s with FINAL and
 * 5.0 s with a GROUP BY/argMax subquery; FINAL also keeps the primary-key index usable when the
 * table is queried directly. Cost: 18.16 does not push a view's outer WHERE into it, so a filtered
 * query on a view still merges the whole table; docs/analysts.md shows the `FROM <table> FINAL
 * WHERE ...` form for large ranges.
 */
import type { Migration } from '../../src/core/clickhouse/migration.ts';

export const migration: Migration = {
  version: 2,
  name: 'views',
  render({ database: db, capabilities }) {
    // `*` leaves ALIAS columns out, so on modern servers the DateTime64 aliases of migration 1
    // are named, or the views analysts are told to query would lack them. Modern only: the
    // legacy rendering, applied and checksummed on 18.16, must not change.
    const alias = (name: string) => (capabilities.modern ? `, ${name}` : '');
    return [
      `CREATE VIEW IF NOT EXISTS ${db}.v_raw_envelopes AS SELECT *${alias('slot_start_time')} FROM ${db}.raw_envelopes FINAL`,
      `CREATE VIEW IF NOT EXISTS ${db}.v_metrics AS SELECT *${alias('observed_at')} FROM ${db}.metrics FINAL`,
      `CREATE VIEW IF NOT EXISTS ${db}.v_features AS SELECT *${alias('slot_start_time')} FROM ${db}.features FINAL`,
      `CREATE VIEW IF NOT EXISTS ${db}.v_dlq AS SELECT * FROM ${db}.dlq FINAL`,
      // Latest by observation time; ties (two copies observed at the same ns) by the later copy.
      `CREATE VIEW IF NOT EXISTS ${db}.v_metrics_latest AS
SELECT
    device_id,
    metric_name,
    oid,
    argMax(label_keys, (observed_at_ns, kafka_offset)) AS label_keys,
    argMax(label_values, (observed_at_ns, kafka_offset)) AS label_values,
    argMax(unit, (observed_at_ns, kafka_offset)) AS unit,
    max(ts) AS latest_ts,
    max(observed_at_ns) AS latest_observed_at_ns,
    argMax(value_numeric, (observed_at_ns, kafka_offset)) AS value_numeric,
    argMax(value_string, (observed_at_ns, kafka_offset)) AS value_string,
    argMax(counter_value, (observed_at_ns, kafka_offset)) AS counter_value,
    argMax(counter_bits, (observed_at_ns, kafka_offset)) AS counter_bits,
    argMax(idempotency_key, (observed_at_ns, kafka_offset)) AS idempotency_key
FROM ${db}.metrics FINAL
GROUP BY device_id, metric_name, oid`,
      // Numeric values only: an average of raw counters means nothing (rates are in features).
      `CREATE VIEW IF NOT EXISTS ${db}.v_metrics_hourly AS
SELECT
    device_id,
    metric_name,
    oid,
    any(unit) AS unit,
    toStartOfHour(ts) AS hour,
    count() AS samples,
    avg(assumeNotNull(value_numeric)) AS avg_value,
    min(assumeNotNull(value_numeric)) AS min_value,
    max(assumeNotNull(value_numeric)) AS max_value,
    quantile(0.95)(assumeNotNull(value_numeric)) AS p95_value
FROM ${db}.metrics FINAL
WHERE isNotNull(value_numeric)
GROUP BY device_id, metric_name, oid, hour`,
      `CREATE VIEW IF NOT EXISTS ${db}.v_collection_health AS
SELECT
    device_id,
    toStartOfHour(slot_start) AS hour,
    max(interval_s) AS interval_s,
    count() AS polls_seen,
    intDiv(3600, interval_s) AS polls_expected,
    countIf(poll_state = 'ok') AS polls_ok,
    countIf(poll_state != 'ok') AS polls_failed,
    polls_seen / polls_expected AS coverage,
    min(slot_start) AS first_seen,
    max(slot_start) AS last_seen
FROM ${db}.features FINAL
GROUP BY device_id, hour`,
    ];
  },
};
