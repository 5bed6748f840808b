/**
 * Least privilege, as far as the server allows (docs/analysts.md): the sink runs as a user that
 * may insert into and read its database but not change its schema nor touch another database, and
 * an analyst user reads the views and cannot write.
 */
import { describe, expect, it } from 'vitest';
import { createClickHouse } from '../../../src/core/clickhouse/index.ts';
import type { Config } from '../../../src/core/config/index.ts';
import { clickhouseTestUser } from '../../helpers/clickhouse-user.ts';
import { startTestPipeline, testSink } from '../../helpers/stored-pipeline.ts';

/** The ClickHouse error code a statement fails with, or 'ok'. */
async function outcome(config: Config, query: string): Promise<number | 'ok'> {
  const client = createClickHouse(config, { database: null });
  try {
    await client.command({ query });
    return 'ok';
  } catch (err) {
    const code = /Code: (\d+)/.exec(String(err))?.[1] ?? (err as { code?: string }).code;
    return Number(code);
  } finally {
    await client.close();
  }
}

describe('least privilege', () => {
  it('stores the pipeline as a sink user, which cannot change the schema, and an analyst reads only', async (ctx) => {
    const p = await startTestPipeline(ctx, { devices: 2, intervalS: 1, sink: false });
    const db = p.config.clickhouse.database;
    const databases = [db];
    const sinkUser = await clickhouseTestUser(ctx, p.config, { kind: 'sink', databases });
    const analyst = await clickhouseTestUser(ctx, p.config, { kind: 'analyst', databases });
    if (sinkUser === undefined || analyst === undefined) {
      ctx.skip(true, 'the server is 18.16 but not the local one: no users.d to write');
      return;
    }
    await testSink(ctx, sinkUser.config, p.trustStore);
    await p.producer.close();
    const produced = await p.stopProducing();
    await p.waitStored(p.processor.stats().accepted);
    expect(produced.length).toBeGreaterThan(0);

    // A table in another database (the run's), made by the admin user.
    const other = `${db.replace(/_[0-9a-f]{6}$/, '')}.probe_${db.slice(-6)}`;
    const admin = createClickHouse(p.config, { database: null });
    ctx.onTestFinished(async () => {
      await admin.command({ query: `DROP TABLE IF EXISTS ${other}` });
      await admin.close();
    });
    await admin.command({ query: `CREATE TABLE ${other} (x UInt8) ENGINE = Memory` });

    // The sink user: no DDL, no other database (codes differ between 18.16 and current servers).
    const denied = new Set([164, 291, 392, 497]);
    for (const query of [
      `DROP TABLE ${db}.metrics`,
      `CREATE TABLE ${db}.intruder (x UInt8) ENGINE = Memory`,
      `ALTER TABLE ${db}.metrics DELETE WHERE 1`,
      'CREATE DATABASE amoskys_intruder',
      `SELECT count() FROM ${other}`,
      `INSERT INTO ${other} VALUES (1)`,
    ]) {
      const result = await outcome(sinkUser.config, query);
      expect(result === 'ok' ? 'ok' : denied.has(result) ? 'denied' : result, query).toBe('denied');
    }

    // The analyst: reads the views, writes nothing.
    const client = createClickHouse(analyst.config, { database: null });
    ctx.onTestFinished(() => client.close());
    const [row] = await (
      await client.query({ query: `SELECT count() AS n FROM ${db}.v_features`, format: 'JSONEachRow' })
    ).json<{ n: string }>();
    expect(Number(row?.n)).toBe(p.processor.stats().accepted);
    for (const query of [
      `INSERT INTO ${db}.dlq (reason) VALUES ('forged')`,
      `DROP TABLE ${db}.features`,
      `ALTER TABLE ${db}.features DELETE WHERE 1`,
    ]) {
      const result = await outcome(analyst.config, query);
      expect(result === 'ok' ? 'ok' : denied.has(result) ? 'denied' : result, query).toBe('denied');
    }
  }, 180_000);
});
