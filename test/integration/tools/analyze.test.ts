/**
 * `amoskys analyze` as a user runs it, on data the real pipeline produced (snmpd + simulated
 * devices -> producer -> processor -> sink -> ClickHouse), plus a duplicate and a poison message
 * sent to the raw topic: the run reconciles and exits 0. Then rows are deleted and a size is
 * falsified in ClickHouse (loss, a partial store, the 162-of-1,165-bytes failure, lost metric
 * rows): the run names each one and exits 1.
 */
import { execFile } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { createClickHouse, sqlString } from '../../../src/core/clickhouse/index.ts';
import { repoRoot } from '../../../src/core/config/index.ts';
import { featureColumns } from '../../../src/core/features/index.ts';
import { createKafka } from '../../../src/core/kafka/index.ts';
import { type AnalyzeReport, idempotencyKeyOf } from '../../../src/tools/analyze/index.ts';
import { testDatabase } from '../../helpers/clickhouse.ts';
import { testConfig } from '../../helpers/config.ts';
import { storedPipeline } from '../../helpers/stored-pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in a child process (the pipeline keeps running in this one). */
function amoskys(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
      { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    );
  });
}

describe('amoskys analyze', () => {
  it('reconciles what the pipeline produced, and fails with the reasons after loss', async (ctx) => {
    const p = await storedPipeline(ctx, { devices: 2, polls: 3 });
    const { config } = p;
    const db = config.clickhouse.database;
    const env = {
      ...inject('amoskysEnv'),
      AMOSKYS_CLICKHOUSE_DATABASE: db,
      AMOSKYS_TOPIC_RAW: config.topics.raw,
      AMOSKYS_TOPIC_FEATURES: config.topics.features,
      AMOSKYS_TOPIC_DLQ: config.topics.dlq,
      AMOSKYS_TOPIC_PROCESSOR_STATE: config.topics.processorState,
      AMOSKYS_LOG_LEVEL: 'error',
    };
    const produced = p.produced.length;
    expect(produced).toBeGreaterThanOrEqual(9);

    // A duplicate (the same envelope sent again) and a poison message behind it in its partition:
    // once the poison message is dead-lettered, the processor has passed the duplicate too.
    const first = p.produced[0];
    if (first === undefined) throw new Error('nothing produced');
    const kafka = createKafka(config, 'test-analyze');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topics.raw,
      messages: [
        { partition: first.partition, key: first.key, value: first.value },
        { partition: first.partition, key: first.key, value: Buffer.from('not an envelope') },
      ],
    });
    await producer.disconnect();
    await waitFor(
      async () =>
        Number((await p.db.rows<{ n: string }>(`SELECT count() AS n FROM ${db}.v_dlq`))[0]?.n) === 1,
      {
        description: 'the poison message in v_dlq',
        timeoutMs: 60_000,
      },
    );

    const ok = await amoskys(['analyze', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(new RegExp(`read ${produced + 2} of ${produced + 2} messages \\(100%\\)`));
    const report = JSON.parse(ok.stdout) as AnalyzeReport;
    expect(report.reconciliation).toMatchObject({
      produced: produced + 2,
      stored: produced,
      rejected: 1,
      duplicates: 1,
      missing: 0,
      partial: 0,
      notOnTopic: 0,
      reconciled: true,
    });
    expect(Object.keys(report.reconciliation.rejectedByReason)).toHaveLength(1);
    expect(report.reconciliation.devices.map((d) => d.deviceId)).toEqual([...p.devices].sort());
    // Real envelopes are larger than the SNMP responses they carry; no alarm at the default 0.5.
    expect(report.bytes).toMatchObject({ envelopes: produced, alarms: 0 });
    expect(report.bytes.ratio).toBeGreaterThan(0.5);
    expect(report.bytes.metricRows).toBeGreaterThan(produced * 20);
    const snmpd = report.completeness.find((c) => c.deviceId === 'local-snmpd');
    expect(snmpd?.answered).toBeGreaterThan(0);
    expect(snmpd?.completeness).toBeGreaterThan(0.5);
    // Every metric definition of the profile reached the metrics table.
    expect(report.metricNames.map((m) => m.name)).toEqual(
      [...new Set(featureColumns.map((f) => f.source))].sort(),
    );
    ctx.annotate(
      `bytes: collected ${report.bytes.collectedBytes}, stored ${report.bytes.storedBytes} (ratio ${report.bytes.ratio?.toFixed(2)}); ` +
        `completeness ${report.completeness.map((c) => `${c.deviceId} ${c.completeness?.toFixed(3)} missing [${c.missing.join(',')}]`).join('; ')}`,
    );

    // One device, in text: the duplicate and the poison message went to the first message's device.
    const device = first.key?.toString() ?? '';
    const text = await amoskys(['analyze', '--device', device], env);
    expect(text.code, text.stderr).toBe(0);
    const own = p.produced.filter((m) => m.key?.toString() === device).length;
    expect(text.stdout).toContain(
      `produced ${own + 2} = stored ${own} + rejected 1 + duplicates 1   reconciled`,
    );
    expect(text.stdout).toContain('RESULT: reconciled, no alarm (exit 0)');

    // Loss: B's rows are gone; A keeps its archive but lost its feature row; C claims it collected
    // far more than its envelope holds; D lost one metric row.
    const duplicated = idempotencyKeyOf(first.value);
    const keys = p.produced.map((m) => idempotencyKeyOf(m.value)).filter((k) => k !== duplicated);
    const [a, b, c, d] = keys as [string, string, string, string];
    const mutations = [
      `ALTER TABLE ${db}.features DELETE WHERE idempotency_key IN (${sqlString(a)}, ${sqlString(b)})`,
      `ALTER TABLE ${db}.raw_envelopes DELETE WHERE idempotency_key = ${sqlString(b)}`,
      `ALTER TABLE ${db}.metrics DELETE WHERE idempotency_key = ${sqlString(b)} OR (idempotency_key = ${sqlString(d)} AND metric_name = 'sys_uptime')`,
      `ALTER TABLE ${db}.features UPDATE poll_bytes_collected = 100000000 WHERE idempotency_key = ${sqlString(c)}`,
    ];
    for (const query of mutations) await p.db.client.command({ query });
    await waitFor(
      async () => {
        const [row] = await p.db.rows<{ n: string }>(
          `SELECT count() AS n FROM system.mutations WHERE database = ${sqlString(db)} AND is_done = 0`,
        );
        return Number(row?.n) === 0;
      },
      { description: 'the mutations to finish', timeoutMs: 60_000 },
    );

    const failed = await amoskys(['analyze', '--json'], env);
    expect(failed.code, failed.stderr).toBe(1);
    const bad = JSON.parse(failed.stdout) as AnalyzeReport;
    expect(bad.reconciliation).toMatchObject({
      produced: produced + 2,
      stored: produced - 2,
      missing: 1,
      partial: 1,
      reconciled: false,
    });
    expect(bad.reconciliation.lost.map((l) => [l.idempotencyKey, l.fate]).sort()).toEqual(
      [
        [a, 'partial'],
        [b, 'missing'],
      ].sort(),
    );
    expect(bad.bytes.alarmsByKind).toEqual({ low_ratio: 1, no_metrics: 0, metrics_lost: 1 });
    expect(bad.bytes.alarmSample.map((s) => [s.kind, s.idempotencyKey]).sort()).toEqual(
      [
        ['low_ratio', c],
        ['metrics_lost', d],
      ].sort(),
    );
    expect(bad.problems).toHaveLength(3);

    const failedText = await amoskys(['analyze'], env);
    expect(failedText.code).toBe(1);
    expect(failedText.stdout).toContain('NOT RECONCILED: missing 1, partial 1');
    expect(failedText.stdout).toContain('RESULT: FAILED (exit 1)');
  }, 300_000);

  it('exits 2 when it cannot run: tables missing, or a topic that does not exist', async (ctx) => {
    // A database of its own with no tables (the run's database may have been migrated by another test).
    const base = testConfig();
    const empty = `${base.clickhouse.database}_bare_${Math.random().toString(16).slice(2, 8)}`;
    const admin = createClickHouse(base, { database: null });
    await admin.command({ query: `CREATE DATABASE ${empty}` });
    ctx.onTestFinished(async () => {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${empty}` });
      await admin.close();
    });
    const bare = await amoskys(['analyze'], { ...inject('amoskysEnv'), AMOSKYS_CLICKHOUSE_DATABASE: empty });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/lacks the AMOSKYS tables .*amoskys clickhouse migrate/);

    const { config } = await testDatabase(ctx, testConfig());
    const run = await amoskys(['analyze'], {
      ...inject('amoskysEnv'),
      AMOSKYS_CLICKHOUSE_DATABASE: config.clickhouse.database,
      AMOSKYS_TOPIC_RAW: 'amoskys.test.nothing-here.v1',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('topic amoskys.test.nothing-here.v1 does not exist');
  });
});
