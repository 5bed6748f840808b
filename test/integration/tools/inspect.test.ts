/**
 * `amoskys inspect` on data the real pipeline produced: the SNMP producer polling the local snmpd
 * (and one simulated device), the processor and the ClickHouse sink, into a private pipeline and
 * database (test/helpers/stored-pipeline.ts). What inspect shows must equal what was produced, on
 * the topics and in ClickHouse, byte for byte. Dead letters come from the reject corpus through
 * the real processor and sink.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createClickHouse } from '../../../src/core/clickhouse/index.ts';
import { repoRoot } from '../../../src/core/config/index.ts';
import { writeTrustStore } from '../../../src/core/crypto/index.ts';
import { decodeEnvelope } from '../../../src/core/envelope/index.ts';
import { createKafka } from '../../../src/core/kafka/index.ts';
import { createLogger } from '../../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../../src/core/metrics/index.ts';
import { unframe } from '../../../src/core/registry/index.ts';
import { createProcessorLogic, startProcessor } from '../../../src/processors/telemetry/index.ts';
import {
  type DecodeContext,
  inspectTable,
  inspectTopic,
  readTrustSnapshot,
} from '../../../src/tools/inspect/index.ts';
import { buildRejectCorpus } from '../../fixtures/envelopes/rejects.ts';
import { testDatabase } from '../../helpers/clickhouse.ts';
import { testConfig } from '../../helpers/config.ts';
import { testKafka } from '../../helpers/kafka.ts';
import { testPipeline } from '../../helpers/pipeline.ts';
import { childEnv, storedPipeline, testSink } from '../../helpers/stored-pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

const { Partitioners } = kafkajs;

/** Runs the CLI as a user would, against the test's configuration. */
function amoskys(args: string[], env: Record<string, string>) {
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
    { env, encoding: 'utf8', cwd: repoRoot, timeout: 60_000 },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('amoskys inspect', () => {
  it('shows what the producer, processor and sink wrote, on the topics and in ClickHouse', async (ctx) => {
    const p = await storedPipeline(ctx, { devices: 1, polls: 1 });
    const kafka = createKafka(p.config, 'test-inspect');
    const trust = readTrustSnapshot(p.trustStore);
    const decodeCtx: DecodeContext = { trust: trust.snapshot, nowMs: Date.now(), valueHex: true };
    const produced = new Map(p.produced.map((m) => [`${m.partition}/${m.offset}`, m]));
    expect(p.produced.length).toBeGreaterThanOrEqual(2);

    // Raw topic: every envelope, verified, decoded exactly as a direct decode of the bytes.
    const raw = await inspectTopic(kafka, {
      topic: p.config.topics.raw,
      role: 'raw',
      limit: 100,
      mode: 'first',
      ctx: decodeCtx,
    });
    expect(raw.stoppedBy).toBe('end');
    expect(raw.messages).toHaveLength(p.produced.length);
    for (const m of raw.messages) {
      if (m.origin.source !== 'kafka') throw new Error('not from Kafka');
      const sent = produced.get(`${m.origin.partition}/${m.origin.offset}`);
      expect(m.valueHex).toBe(sent?.value?.toString('hex'));
      const framed = unframe(sent?.value as Buffer);
      if (!framed.ok) throw new Error(framed.detail);
      const decoded = decodeEnvelope(framed.payload);
      if (!decoded.ok) throw new Error(decoded.detail);
      expect(m.wire).toMatchObject({ ok: true, schemaId: framed.schemaId, messageIndexes: [0] });
      expect(m.envelope?.signature).toMatchObject({ status: 'verified', keyId: p.key.keyId, warnings: [] });
      expect(m.envelope?.header.idempotencyKey).toBe(decoded.envelope.header.idempotencyKey);
      expect(m.envelope?.metrics).toEqual(decoded.envelope.telemetry?.metrics);
      expect(m.envelope?.flags).toEqual([]);
    }
    const snmpd = raw.messages.find((m) => m.envelope?.device?.id === 'local-snmpd');
    expect(snmpd?.envelope?.events).toMatchObject({
      metric: expect.any(Number),
      status: 1,
      flow: 0,
      process: 0,
    });
    expect(new Set(snmpd?.envelope?.metrics.map((m) => m.name)).size).toBe(29);

    // Filters: one device; one idempotency key; the newest feature row of a transactional topic,
    // whose last offset is a commit marker rather than a record.
    const one = await inspectTopic(kafka, {
      topic: p.config.topics.raw,
      role: 'raw',
      limit: 100,
      mode: 'first',
      device: 'local-snmpd',
      ctx: decodeCtx,
    });
    expect(one.messages.length).toBe(p.produced.filter((m) => m.key?.toString() === 'local-snmpd').length);
    expect(one.messages.every((m) => m.envelope?.device?.id === 'local-snmpd')).toBe(true);
    const wantedKey = snmpd?.envelope?.header.idempotencyKey as string;
    const byKey = await inspectTopic(kafka, {
      topic: p.config.topics.raw,
      role: 'raw',
      limit: 10,
      mode: 'first',
      idempotencyKey: wantedKey,
      ctx: decodeCtx,
    });
    expect(byKey.messages.map((m) => m.envelope?.header.idempotencyKey)).toEqual([wantedKey]);
    const newest = await inspectTopic(kafka, {
      topic: p.config.topics.features,
      role: 'features',
      limit: 1,
      mode: 'last',
      ctx: decodeCtx,
    });
    expect(newest.messages).toHaveLength(1);
    expect(newest.messages[0]?.featureRow?.header.device_id).toMatch(/.+/);
    expect(newest.messages[0]?.featureRow?.values.length).toBeGreaterThan(0);

    // ClickHouse: the archive decodes to the same bytes and agrees with its own columns.
    const client = createClickHouse(p.config);
    ctx.onTestFinished(() => client.close());
    const stored = await inspectTable(client, {
      database: p.config.clickhouse.database,
      table: 'raw_envelopes',
      limit: 100,
      mode: 'first',
      ctx: decodeCtx,
    });
    expect(stored.messages).toHaveLength(p.produced.length);
    for (const m of stored.messages) {
      if (m.origin.source !== 'clickhouse') throw new Error('not from ClickHouse');
      expect(m.valueHex).toBe(
        produced.get(`${m.origin.kafkaPartition}/${m.origin.kafkaOffset}`)?.value?.toString('hex'),
      );
      expect(m.mismatches).toEqual([]);
      expect(m.envelope?.signature.status).toBe('verified');
    }
    const rows = await inspectTable(client, {
      database: p.config.clickhouse.database,
      table: 'features',
      limit: 100,
      mode: 'last',
      device: 'local-snmpd',
      ctx: decodeCtx,
    });
    expect(rows.messages.length).toBe(one.messages.length);
    expect(rows.messages[0]?.featureRow?.values.find((v) => v.name === 'sys_uptime')?.value).toEqual(
      expect.any(Number),
    );
    expect(rows.messages[0]?.featureRow?.extra.length).toBeGreaterThan(0);

    // The CLI: text for people, JSON for scripts, an export with every value as hex.
    const env = childEnv(p.config);
    const text = amoskys(['inspect', 'raw', '--device', 'local-snmpd', '-n', '1'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`signature     verified: verifies under key ${p.key.keyId}`);
    expect(text.stdout).toMatch(/^ {2}sys_uptime +\d+ +numeric +centiseconds +1\.3\.6\.1\.2\.1\.1\.3\.0$/m);
    expect(text.stdout).toMatch(/1 message\(s\) of .* stopped because the limit was reached/);
    const exportFile = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-inspect-')), 'raw.json');
    const json = amoskys(
      ['inspect', '--source', 'clickhouse', '--json', '--last', '--export-json', exportFile],
      env,
    );
    expect(json.code, json.stderr).toBe(0);
    const document = JSON.parse(json.stdout);
    expect(document.source).toEqual({
      kind: 'clickhouse',
      database: p.config.clickhouse.database,
      table: 'raw_envelopes',
    });
    expect(document.messages).toHaveLength(p.produced.length);
    expect(document.messages[0].valueHex).toBeUndefined();
    expect(document.messages[0].envelope.signature.status).toBe('verified');
    const exported = JSON.parse(readFileSync(exportFile, 'utf8'));
    expect(new Set(exported.messages.map((m: { valueHex: string }) => m.valueHex))).toEqual(
      new Set(p.produced.map((m) => m.value?.toString('hex'))),
    );
    const full = amoskys(['inspect', 'features', '--full', '-n', '1'], env);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toContain('text format\n  device_id: "');
  }, 240_000);

  it('shows each dead letter’s reason and decodes the rejected bytes, from Kafka and ClickHouse', async (ctx) => {
    const { config: piped, rawSchemaId } = await testPipeline(ctx, testConfig());
    const trustFile = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-trust-')), 'trust-store.json');
    const sinkGroup = piped.processor.groupId.replace('-processor-', '-sink-');
    const db = await testDatabase(ctx, {
      ...piped,
      processor: { ...piped.processor, trustStore: trustFile, maxMessageBytes: 64 * 1024, workers: 1 },
      sink: { ...piped.sink, groupId: sinkGroup },
    });
    const config = db.config;
    const corpus = buildRejectCorpus({
      nowNs: BigInt(Date.now()) * 1_000_000n,
      schemaId: rawSchemaId,
      freshnessWindowMs: config.processor.freshnessWindowSeconds * 1000,
      maxFutureSkewMs: config.processor.maxFutureSkewSeconds * 1000,
      maxMessageBytes: config.processor.maxMessageBytes,
    });
    writeTrustStore(trustFile, corpus.trustStore);
    const rejects = corpus.messages.filter((m) => m.expected !== 'ok');

    const kafka = testKafka(config);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: config.topics.raw,
      messages: corpus.messages.map((m) => ({
        key: m.key,
        value: m.value === null ? null : Buffer.from(m.value),
      })),
    });
    await producer.disconnect();
    const logger = createLogger({ level: 'silent' });
    const metrics = createMetricsRegistry('test');
    const logic = await createProcessorLogic({ config, logger, metrics });
    const stage = await startProcessor({ config, kafka, logic: logic.logic, logger, metrics });
    ctx.onTestFinished(async () => {
      await stage.close();
      await logic.close();
    });
    await testSink(ctx, config, trustFile);
    await waitFor(() => stage.stats().in === corpus.messages.length, {
      description: `the processor to take all ${corpus.messages.length} messages`,
      timeoutMs: 60_000,
    });

    const trust = readTrustSnapshot(trustFile);
    const decodeCtx: DecodeContext = { trust: trust.snapshot, nowMs: Date.now(), valueHex: true };
    const expectedByHex = new Map(
      rejects.map((r) => [r.value === null ? '' : Buffer.from(r.value).toString('hex'), r.expected]),
    );
    const dead = await inspectTopic(kafka, {
      topic: config.topics.dlq,
      role: 'dlq',
      limit: 100,
      mode: 'first',
      ctx: decodeCtx,
    });
    expect(dead.messages).toHaveLength(rejects.length);
    for (const m of dead.messages) {
      expect(m.kind).toBe('dead_letter');
      expect(m.deadLetter?.reason).toBe(expectedByHex.get(m.valueHex ?? ''));
      expect(m.deadLetter?.sourceTopic).toBe(config.topics.raw);
      expect(m.deadLetter?.message.length).toBeGreaterThan(0);
    }
    const byReason = (reason: string) => dead.messages.find((m) => m.deadLetter?.reason === reason);
    // The rejected bytes, decoded as far as they go: the signature status agrees with the reason.
    expect(byReason('bad_signature')?.original?.envelope?.signature.status).toMatch(
      /bad_signature|unsigned|malformed/,
    );
    expect(byReason('unknown_key')?.original?.envelope?.signature.status).toBe('unknown_key');
    expect(byReason('stale')?.original?.envelope?.signature.status).toBe('verified');
    expect(byReason('wrong_magic')?.original?.wire).toMatchObject({ ok: false, reason: 'wrong_magic' });

    const client = createClickHouse(config);
    ctx.onTestFinished(() => client.close());
    await waitFor(
      async () => {
        const [row] = await db.rows<{ n: string }>(
          `SELECT count() AS n FROM ${config.clickhouse.database}.v_dlq`,
        );
        return Number(row?.n) >= rejects.length;
      },
      { description: `${rejects.length} dead letters in ClickHouse`, timeoutMs: 60_000 },
    );
    const stored = await inspectTable(client, {
      database: config.clickhouse.database,
      table: 'dlq',
      limit: 100,
      mode: 'first',
      ctx: decodeCtx,
    });
    expect(stored.messages).toHaveLength(rejects.length);
    for (const m of stored.messages) {
      expect(m.deadLetter?.reason).toBe(expectedByHex.get(m.valueHex ?? ''));
      expect(m.original?.valueBytes ?? 0).toBe((m.valueHex?.length ?? 0) / 2);
    }

    const cli = amoskys(['inspect', 'dlq', '--json', '--last', '-n', '3'], childEnv(config));
    expect(cli.code, cli.stderr).toBe(0);
    const document = JSON.parse(cli.stdout);
    expect(document.messages).toHaveLength(3);
    expect(
      document.messages.every((m: { deadLetter: { reason: string } }) => m.deadLetter.reason.length > 0),
    ).toBe(true);
  }, 240_000);

  it('returns at once for an empty topic and names a missing one', async (ctx) => {
    const { config } = await testPipeline(ctx, testConfig());
    const kafka = createKafka(config, 'test-inspect');
    const started = Date.now();
    const empty = await inspectTopic(kafka, {
      topic: config.topics.raw,
      role: 'raw',
      limit: 10,
      mode: 'first',
      ctx: { trust: readTrustSnapshot('/nonexistent').snapshot, nowMs: Date.now() },
    });
    expect(empty).toMatchObject({ messages: [], scanned: 0, stoppedBy: 'end' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const missing = amoskys(['inspect', 'amoskys.test.missing-topic.v1'], childEnv(config));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('topic amoskys.test.missing-topic.v1 does not exist');
  }, 60_000);
});
