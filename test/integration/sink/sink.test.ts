/**
 * The sink on the real stack: the pipeline's own output (snmpd + simulated devices through the
 * producer and the processor) stored in ClickHouse, every byte and every metric, each key once.
 */
import { describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../../src/core/envelope/index.ts';
import { unframe } from '../../../src/core/registry/index.ts';
import { storedPipeline } from '../../helpers/stored-pipeline.ts';

describe('ClickHouse sink', () => {
  it('stores every produced envelope byte for byte, all its metrics and its feature row, once', async (ctx) => {
    const p = await storedPipeline(ctx, { devices: 3, polls: 2 });
    const db = p.config.clickhouse.database;
    const n = p.produced.length;
    expect(n).toBeGreaterThanOrEqual(8);

    const raw = await p.db.rows<{
      idempotency_key: string;
      hex: string;
      kafka_partition: number;
      kafka_offset: string;
    }>(`SELECT idempotency_key, hex(bytes) AS hex, kafka_partition, kafka_offset FROM ${db}.v_raw_envelopes`);
    expect(raw).toHaveLength(n);
    const byCoordinates = new Map(raw.map((r) => [`${r.kafka_partition}/${r.kafka_offset}`, r]));
    let metricsExpected = 0;
    for (const m of p.produced) {
      const stored = byCoordinates.get(`${m.partition}/${m.offset}`);
      expect(stored?.hex, `envelope at ${m.partition}/${m.offset}`).toBe(
        m.value?.toString('hex').toUpperCase(),
      );
      const framed = unframe(m.value as Buffer);
      if (!framed.ok) throw new Error(framed.detail);
      const decoded = decodeEnvelope(framed.payload);
      if (!decoded.ok) throw new Error(decoded.detail);
      metricsExpected += decoded.envelope.telemetry?.metrics.length ?? 0;
      expect(stored?.idempotency_key).toBe(decoded.envelope.header.idempotencyKey);
    }
    const [counts] = await p.db.rows<Record<string, string>>(
      `SELECT
         (SELECT count() FROM ${db}.v_metrics) AS metrics,
         (SELECT count() FROM ${db}.v_features) AS features,
         (SELECT uniqExact(idempotency_key) FROM ${db}.v_features) AS feature_keys,
         (SELECT count() FROM ${db}.v_dlq) AS dlq`,
    );
    expect(Number(counts?.metrics)).toBe(metricsExpected);
    expect(metricsExpected).toBeGreaterThan(n * 20);
    expect(Number(counts?.features)).toBe(n);
    expect(Number(counts?.feature_keys)).toBe(n);
    expect(Number(counts?.dlq)).toBe(0);
    expect(p.sink?.skipped).toEqual({});
  }, 180_000);
});
