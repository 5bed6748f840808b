/**
 * The processor on the real stack: a corpus with one message per reject reason lands in the DLQ
 * with that reason, the original bytes and the source coordinates, while valid traffic becomes
 * feature rows; a replayed envelope is counted as a duplicate; the counts reconcile.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { writeTrustStore } from '../../../src/core/crypto/index.ts';
import { decodeFeatureRow } from '../../../src/core/features/index.ts';
import { createLogger } from '../../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../../src/core/metrics/index.ts';
import { unframe } from '../../../src/core/registry/index.ts';
import { createProcessorLogic, DlqHeader, startProcessor } from '../../../src/processors/telemetry/index.ts';
import { buildRejectCorpus } from '../../fixtures/envelopes/rejects.ts';
import { testConfig } from '../../helpers/config.ts';
import { testKafka, waitForMessages } from '../../helpers/kafka.ts';
import { testPipeline } from '../../helpers/pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

describe('processor', () => {
  it('dead-letters one message per reject reason with that reason while valid traffic flows', async (ctx) => {
    const base = testConfig();
    const { config: piped, rawSchemaId } = await testPipeline(ctx, base);
    const trustFile = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-trust-')), 'trust-store.json');
    const config = {
      ...piped,
      processor: { ...piped.processor, trustStore: trustFile, maxMessageBytes: 64 * 1024, workers: 2 },
    };
    const corpus = buildRejectCorpus({
      nowNs: BigInt(Date.now()) * 1_000_000n,
      schemaId: rawSchemaId,
      freshnessWindowMs: config.processor.freshnessWindowSeconds * 1000,
      maxFutureSkewMs: config.processor.maxFutureSkewSeconds * 1000,
      maxMessageBytes: config.processor.maxMessageBytes,
    });
    writeTrustStore(trustFile, corpus.trustStore);

    const valid = corpus.messages.filter((m) => m.expected === 'ok');
    const rejects = corpus.messages.filter((m) => m.expected !== 'ok');
    const replayed = valid[0];
    if (replayed === undefined) throw new Error('corpus has no valid message');
    const sent = [...corpus.messages, replayed];

    const kafka = testKafka(config);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: config.topics.raw,
      messages: sent.map((m) => ({ key: m.key, value: m.value === null ? null : Buffer.from(m.value) })),
    });
    await producer.disconnect();

    const metrics = createMetricsRegistry('test');
    const logger = createLogger({ level: 'silent' });
    const logic = await createProcessorLogic({ config, logger, metrics });
    const stage = await startProcessor({ config, kafka, logic: logic.logic, logger, metrics });
    ctx.onTestFinished(async () => {
      await stage.close();
      await logic.close();
    });
    await waitFor(() => stage.stats().in === sent.length, {
      description: `the processor to commit all ${sent.length} messages`,
      timeoutMs: 60_000,
    });

    const stats = stage.stats();
    expect(stats).toMatchObject({ accepted: valid.length, rejected: rejects.length, duplicates: 1 });
    expect(stats.in).toBe(stats.accepted + stats.rejected + stats.duplicates);

    const dead = await waitForMessages(kafka, config.topics.dlq, rejects.length);
    expect(dead).toHaveLength(rejects.length);
    const byOffset = new Map(
      dead.map((d) => [`${d.headers[DlqHeader.SourcePartition]}/${d.headers[DlqHeader.SourceOffset]}`, d]),
    );
    expect(byOffset.size).toBe(rejects.length);
    const reasonOf = (bytes: Buffer | null) =>
      dead
        .find((d) => (d.value ?? Buffer.alloc(0)).equals(bytes ?? Buffer.alloc(0)))
        ?.headers[DlqHeader.Reason]?.toString();
    for (const reject of rejects) {
      // Each dead letter keeps the original bytes; find it by them and check its reason.
      expect(reasonOf(reject.value === null ? null : Buffer.from(reject.value)), reject.name).toBe(
        reject.expected,
      );
    }
    for (const d of dead) {
      expect(d.headers[DlqHeader.SourceTopic]?.toString()).toBe(config.topics.raw);
      expect(d.headers[DlqHeader.Message]?.toString().length).toBeGreaterThan(0);
    }
    expect(new Set(rejects.map((r) => r.expected)).size).toBeGreaterThanOrEqual(11);

    const rows = await waitForMessages(kafka, config.topics.features, valid.length);
    const keys = rows.map((r) => {
      const framed = unframe(new Uint8Array(r.value ?? Buffer.alloc(0)));
      if (!framed.ok) throw new Error(framed.reason);
      const decoded = decodeFeatureRow(framed.payload);
      if (!decoded.ok) throw new Error(decoded.detail);
      return decoded.row.idempotencyKey;
    });
    expect(keys.sort()).toEqual(valid.map((v) => v.idempotencyKey).sort());
  });
});
