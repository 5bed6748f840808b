/**
 * Exactly once under SIGKILL: the processor is killed with SIGKILL at random points (seeded) while
 * envelopes arrive in waves, restarted each time, and finally left to finish. A read_committed
 * consumer of the features topic must then see every valid idempotency key exactly once, every
 * undecodable message must be in the DLQ once, and the duplicates sent must be exactly what is
 * missing from both: sent = features + dead letters + duplicates.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { generateSigningKey, signerFor, writeTrustStore } from '../../../src/core/crypto/index.ts';
import { buildSignedEnvelope, envelopeSchema } from '../../../src/core/envelope/index.ts';
import { decodeFeatureRow } from '../../../src/core/features/index.ts';
import { BatchProducer, createKafka } from '../../../src/core/kafka/index.ts';
import { createLogger } from '../../../src/core/logging/index.ts';
import { frame, unframe } from '../../../src/core/registry/index.ts';
import type { DevicePoll } from '../../../src/core/telemetry/index.ts';
import { prng } from '../../../src/producers/snmp/index.ts';
import { testConfig } from '../../helpers/config.ts';
import { waitForMessages } from '../../helpers/kafka.ts';
import { testPipeline } from '../../helpers/pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

const devices = Array.from({ length: 12 }, (_, i) => `crash-dev-${i}`);
const intervalS = 60;

function poll(deviceId: string, slot: bigint): DevicePoll {
  const slotStartNs = slot * BigInt(intervalS) * 1_000_000_000n;
  return {
    deviceId,
    protocol: 'snmp',
    intervalS,
    slot,
    slotStartNs,
    observedAtNs: slotStartNs + 2_000_000_000n,
    metrics: [
      {
        name: 'sys_uptime',
        value: { kind: 'numeric', value: Number(slot % 100_000n) * 6000 },
        unit: 'centiseconds',
        oid: '1.3.6.1.2.1.1.3.0',
        labels: [],
      },
      {
        name: 'if_hc_in_octets',
        value: { kind: 'counter', value: slot * 1_000_000n, bits: 64 },
        unit: 'bytes',
        oid: '1.3.6.1.2.1.31.1.1.1.6.2',
        labels: [
          { key: 'ifIndex', value: '2' },
          { key: 'ifDescr', value: 'eth0' },
        ],
      },
    ],
    status: {
      state: 'ok',
      reason: '',
      durationMs: 3,
      varbindsRequested: 2,
      varbindsReceived: 2,
      bytesCollected: 120,
    },
  };
}

describe('processor under SIGKILL', () => {
  it('ends with every idempotency key exactly once and counts that reconcile', async (ctx) => {
    const seed = Number(process.env.AMOSKYS_CHAOS_SEED ?? Date.now() % 100_000);
    const random = prng(seed);
    const note = (text: string) => process.stderr.write(`[crash seed ${seed}] ${text}\n`);
    const base = testConfig();
    const { config, rawSchemaId } = await testPipeline(ctx, base);
    const trustFile = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-trust-')), 'trust-store.json');
    const key = generateSigningKey({ keyId: 'crash-key', devices });
    writeTrustStore(trustFile, {
      format: 'amoskys.trust-store.v1',
      keys: [
        {
          keyId: key.keyId,
          publicKey: Buffer.from(key.publicKey).toString('base64'),
          devices,
          notBefore: new Date(Date.now() - 86_400_000).toISOString(),
        },
      ],
    } as Parameters<typeof writeTrustStore>[1]);
    const signer = signerFor(key);

    const kafka = createKafka(config, 'test');
    const producer = new BatchProducer(kafka, createLogger({ level: 'silent' }));
    await producer.start();
    ctx.onTestFinished(() => producer.close());

    const expectedKeys = new Set<string>();
    let sent = 0;
    let duplicatesSent = 0;
    let corruptSent = 0;
    const sentEnvelopes: { key: string; value: Buffer }[] = [];
    const firstSlot = BigInt(Math.floor(Date.now() / 1000 / intervalS)) - 500n;
    let nextSlot = firstSlot;
    const wave = async () => {
      const batch: Promise<void>[] = [];
      for (let s = 0; s < 25; s++, nextSlot++) {
        for (const device of devices) {
          const value = Buffer.from(
            frame(
              rawSchemaId,
              envelopeSchema.messageIndexes,
              buildSignedEnvelope(poll(device, nextSlot), signer, BigInt(Date.now()) * 1_000_000n),
            ),
          );
          expectedKeys.add(`${device}/${intervalS}/${nextSlot}`);
          sentEnvelopes.push({ key: device, value });
          batch.push(producer.send({ topic: config.topics.raw, key: device, value }));
          sent++;
        }
      }
      // Re-sent envelopes (a producer retry): same bytes, same key, later offsets.
      for (let i = 0; i < 10; i++) {
        const again = sentEnvelopes[Math.floor(random() * sentEnvelopes.length)] as {
          key: string;
          value: Buffer;
        };
        batch.push(producer.send({ topic: config.topics.raw, ...again }));
        sent++;
        duplicatesSent++;
      }
      // Poison pills: must reach the DLQ once each, and never crash-loop the consumer.
      for (let i = 0; i < 3; i++) {
        batch.push(
          producer.send({
            topic: config.topics.raw,
            key: 'garbage',
            value: Buffer.from(`not an envelope ${sent}`),
          }),
        );
        sent++;
        corruptSent++;
      }
      await Promise.all(batch);
    };

    const env = {
      ...process.env,
      ...inject('amoskysEnv'),
      AMOSKYS_TOPIC_RAW: config.topics.raw,
      AMOSKYS_TOPIC_FEATURES: config.topics.features,
      AMOSKYS_TOPIC_DLQ: config.topics.dlq,
      AMOSKYS_TOPIC_PROCESSOR_STATE: config.topics.processorState,
      AMOSKYS_PROCESSOR_GROUP_ID: config.processor.groupId,
      AMOSKYS_PROCESSOR_TRUST_STORE: trustFile,
      AMOSKYS_METRICS_PORT: '0',
      AMOSKYS_LOG_LEVEL: process.env.AMOSKYS_TEST_VERBOSE === '1' ? 'info' : 'error',
    };
    const children = new Set<ChildProcess>();
    ctx.onTestFinished(() => {
      for (const child of children) child.kill('SIGKILL');
    });
    const startProcessor = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, [`${repoRoot}/src/cli/main.ts`, 'processor', 'run'], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (process.env.AMOSKYS_TEST_VERBOSE === '1') process.stderr.write(chunk);
      });
      await waitFor(() => stderr.includes('[processor] partitions assigned') || child.exitCode !== null, {
        description: 'the processor to join its group',
        timeoutMs: 60_000,
      });
      if (child.exitCode !== null) throw new Error(`processor exited at start: ${stderr}`);
      return child;
    };

    const kills = Number(process.env.AMOSKYS_CHAOS_KILLS ?? 4);
    const exited = (child: ChildProcess) =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => child.once('exit', resolve));
    for (let k = 0; k < kills; k++) {
      await wave();
      const child = await startProcessor();
      // Every other wave a second instance joins the group (a rebalance mid-stream) and later
      // leaves it cleanly, while the first is killed.
      const second = k % 2 === 1 ? await startProcessor() : undefined;
      // The fault: SIGKILL at a random point of the run (restore, processing, commit).
      await new Promise((resolve) => setTimeout(resolve, 200 + random() * 2500));
      child.kill('SIGKILL');
      await exited(child);
      if (second !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, random() * 1500));
        second.kill('SIGTERM');
        await exited(second);
      }
      note(`wave ${k + 1}: killed the processor${second ? ', a second instance joined and left' : ''}`);
    }
    const last = await startProcessor();
    note('final processor started');

    const admin = kafka.admin();
    await admin.connect();
    ctx.onTestFinished(() => admin.disconnect());
    await waitFor(
      async () => {
        const end = await admin.fetchTopicOffsets(config.topics.raw);
        const [committed] = await admin.fetchOffsets({
          groupId: config.processor.groupId,
          topics: [config.topics.raw],
        });
        // An empty partition has end offset 0 and no committed offset (-1).
        const at = (partition: number) =>
          Number(committed?.partitions.find((c) => c.partition === partition)?.offset ?? -1);
        return end.every((p) => Number(p.offset) === 0 || at(p.partition) === Number(p.offset));
      },
      {
        description: `processor (seed ${seed}) to commit the whole raw topic`,
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    last.kill('SIGTERM');

    const rows = await waitForMessages(kafka, config.topics.features, expectedKeys.size, 60_000);
    const seen = new Map<string, number>();
    for (const row of rows) {
      const framed = unframe(new Uint8Array(row.value ?? Buffer.alloc(0)));
      if (!framed.ok) throw new Error(framed.reason);
      const decoded = decodeFeatureRow(framed.payload);
      if (!decoded.ok) throw new Error(decoded.detail);
      seen.set(decoded.row.idempotencyKey, (seen.get(decoded.row.idempotencyKey) ?? 0) + 1);
    }
    const twice = [...seen].filter(([, n]) => n > 1);
    expect(twice, `seed ${seed}: keys seen more than once`).toEqual([]);
    expect(new Set(seen.keys()), `seed ${seed}`).toEqual(expectedKeys);
    expect(rows).toHaveLength(expectedKeys.size);

    const dead = await waitForMessages(kafka, config.topics.dlq, corruptSent, 30_000);
    expect(dead).toHaveLength(corruptSent);
    // Reconciliation: everything sent is a feature row, a dead letter or a counted duplicate.
    expect(sent - rows.length - dead.length, `seed ${seed}`).toBe(duplicatesSent);
  }, 400_000);
});
