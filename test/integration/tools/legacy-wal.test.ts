/**
 * `amoskys import legacy-wal` on the real stack: a WAL file built by the test the way the earlier
 * system's writer built it (SQLite journal_mode=WAL, rows still in the journal) with fresh signed
 * envelopes, a legacy FlowEvent/ProcessEvent wrapper and a row with a bad checksum, imported into
 * a private pipeline. The raw topic must hold each good row's original bytes inside the frame,
 * keyed by device, with flags; the processor then accounts for every imported envelope.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { TRUST_STORE_FORMAT, writeTrustStore } from '../../../src/core/crypto/index.ts';
import { buildSignedEnvelope } from '../../../src/core/envelope/index.ts';
import { createLogger } from '../../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../../src/core/metrics/index.ts';
import { unframe } from '../../../src/core/registry/index.ts';
import type { DevicePoll } from '../../../src/core/telemetry/index.ts';
import { createProcessorLogic, startProcessor } from '../../../src/processors/telemetry/index.ts';
import { ImportHeader } from '../../../src/tools/legacy-wal/index.ts';
import { fixtureKeyId, fixturePublicKey, fixtureSigner } from '../../fixtures/envelopes/cases.ts';
import { testConfig } from '../../helpers/config.ts';
import { testKafka, waitForMessages } from '../../helpers/kafka.ts';
import { testPipeline } from '../../helpers/pipeline.ts';
import { childEnv } from '../../helpers/stored-pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';
import { envelopeFixture } from '../../unit/tools/inspect/helpers.ts';
import { blake2b256, buildWal, sha256Hex } from '../../unit/tools/legacy-wal/wal-file.ts';

/** A signed envelope of a poll in the current 60 s slot, as a legacy agent would have written it. */
function freshEnvelope(deviceId: string): { key: string; tsNs: bigint; bytes: Uint8Array } {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const slot = nowNs / 60_000_000_000n;
  const poll: DevicePoll = {
    deviceId,
    protocol: 'snmp',
    intervalS: 60,
    slot,
    slotStartNs: slot * 60_000_000_000n,
    observedAtNs: nowNs,
    metrics: [
      {
        name: 'sys_uptime',
        value: { kind: 'numeric', value: 4242 },
        unit: 'centiseconds',
        oid: '1.3.6.1.2.1.1.3.0',
        labels: [],
      },
    ],
    status: {
      state: 'ok',
      reason: '',
      durationMs: 3,
      varbindsRequested: 1,
      varbindsReceived: 1,
      bytesCollected: 48,
    },
  };
  return {
    key: `${deviceId}/60/${slot}`,
    tsNs: nowNs,
    bytes: buildSignedEnvelope(poll, fixtureSigner, nowNs),
  };
}

describe('amoskys import legacy-wal', () => {
  it('imports a WAL’s originals into the raw topic with flags, and leaves out the row with a bad checksum', async (ctx) => {
    const { config: piped, rawSchemaId } = await testPipeline(ctx, testConfig());
    const trustFile = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-trust-')), 'trust-store.json');
    const config = { ...piped, processor: { ...piped.processor, trustStore: trustFile } };
    writeTrustStore(trustFile, {
      format: TRUST_STORE_FORMAT,
      keys: [
        {
          keyId: fixtureKeyId,
          publicKey: Buffer.from(fixturePublicKey).toString('base64'),
          devices: ['wal-router-1', 'wal-router-2', 'legacy-host-3'],
          notBefore: '2020-01-01T00:00:00.000Z',
        },
      ],
    });

    const one = freshEnvelope('wal-router-1');
    const two = freshEnvelope('wal-router-2');
    const legacy = envelopeFixture('legacy-flow-process');
    const legacyKey = 'legacy-host-3/60/29932441';
    const wal = buildWal([
      { ...one, checksum: sha256Hex(one.bytes) },
      { key: legacyKey, tsNs: 1_795_946_402_400_000_000n, bytes: legacy, checksum: blake2b256(legacy) },
      // The stored checksum is of other bytes: corrupted on disk, not to be imported.
      { key: 'wal-router-9/60/1', tsNs: 1n, bytes: two.bytes, checksum: sha256Hex(one.bytes) },
      { ...two, checksum: blake2b256(two.bytes) },
    ]);
    ctx.onTestFinished(() => wal.close());
    expect(wal.journalBytes()).toBeGreaterThan(0);

    const result = spawnSync(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        `${repoRoot}/src/cli/main.ts`,
        'import',
        'legacy-wal',
        wal.file,
        '--json',
      ],
      { env: childEnv(config), encoding: 'utf8', cwd: repoRoot, timeout: 60_000 },
    );
    // Exit code 1: a row was not imported (the bad checksum), and the report says which.
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      /\[import\] 4\/4 rows \(100%\): checksum ok 3, bad 1, imported 3, flagged 1/,
    );
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      table: 'wal',
      journalMode: 'wal',
      topic: config.topics.raw,
      schemaId: rawSchemaId,
      rows: 4,
      checksumOk: 3,
      checksumBad: 1,
      imported: 3,
      failed: 0,
      flagged: 1,
      algorithms: { sha256: 1, 'blake2b-256': 2 },
      flags: { no_metrics: 1, legacy_events: 1 },
      signatures: { verified: 3 },
      rejected: [{ rowId: '3', key: 'wal-router-9/60/1', detail: expect.stringMatching(/^bad_checksum:/) }],
      flaggedRows: [
        { rowId: '2', key: legacyKey, deviceId: 'legacy-host-3', flags: ['no_metrics', 'legacy_events'] },
      ],
    });

    const kafka = testKafka(config);
    const messages = await waitForMessages(kafka, config.topics.raw, 3);
    expect(messages).toHaveLength(3);
    const byKey = new Map(messages.map((m) => [m.key?.toString(), m]));
    expect([...byKey.keys()].sort()).toEqual(['legacy-host-3', 'wal-router-1', 'wal-router-2']);
    const originals: [string, Uint8Array, string, string][] = [
      ['wal-router-1', one.bytes, '', 'sha256'],
      ['legacy-host-3', legacy, 'no_metrics,legacy_events', 'blake2b-256'],
      ['wal-router-2', two.bytes, '', 'blake2b-256'],
    ];
    for (const [device, bytes, flags, checksum] of originals) {
      const message = byKey.get(device);
      const framed = unframe(message?.value as Buffer);
      if (!framed.ok) throw new Error(`${device}: ${framed.detail}`);
      expect(framed.schemaId).toBe(rawSchemaId);
      expect(framed.messageIndexes).toEqual([0]);
      expect(Buffer.from(framed.payload).equals(Buffer.from(bytes)), `${device} byte for byte`).toBe(true);
      expect(message?.headers[ImportHeader.Flags]?.toString()).toBe(flags);
      expect(message?.headers[ImportHeader.Checksum]?.toString()).toBe(checksum);
      expect(message?.headers[ImportHeader.Source]?.toString()).toBe('legacy-wal');
      expect(message?.headers[ImportHeader.File]?.toString()).toBe('wal.db');
    }

    // Downstream: the fresh envelopes are accepted, the wrapper is dead-lettered with a reason.
    const logger = createLogger({ level: 'silent' });
    const metrics = createMetricsRegistry('test');
    const logic = await createProcessorLogic({ config, logger, metrics });
    const stage = await startProcessor({ config, kafka, logic: logic.logic, logger, metrics });
    ctx.onTestFinished(async () => {
      await stage.close();
      await logic.close();
    });
    await waitFor(() => stage.stats().in === 3, {
      description: 'the processor to take the 3 imported envelopes',
    });
    expect(stage.stats()).toMatchObject({ accepted: 2, rejected: 1, duplicates: 0 });
    const [dead] = await waitForMessages(kafka, config.topics.dlq, 1);
    expect(dead?.value?.equals(byKey.get('legacy-host-3')?.value as Buffer)).toBe(true);
    expect(dead?.headers['amoskys.reason']?.toString()).toMatch(/^(future|stale|invalid_values)$/);
  }, 120_000);
});
