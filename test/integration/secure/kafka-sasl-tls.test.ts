/**
 * The pipeline against a Kafka broker that only speaks SASL_SSL (SCRAM-SHA-512 over TLS, a CA made
 * for this run): topics created by the project's topic code, a signed envelope produced and turned
 * into a feature row by the processor, all over the secured listener. A wrong password and an
 * untrusted certificate fail at once with an error that says which, both in code and in the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { generateSigningKey, signerFor, writeTrustStore } from '../../../src/core/crypto/index.ts';
import { buildSignedEnvelope, envelopeSchema } from '../../../src/core/envelope/index.ts';
import { AmoskysError, ErrorCode } from '../../../src/core/errors/index.ts';
import { decodeFeatureRow } from '../../../src/core/features/index.ts';
import { BatchProducer, createKafka } from '../../../src/core/kafka/index.ts';
import { createLogger } from '../../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../../src/core/metrics/index.ts';
import { frame, unframe } from '../../../src/core/registry/index.ts';
import type { DevicePoll } from '../../../src/core/telemetry/index.ts';
import { createProcessorLogic, startProcessor } from '../../../src/processors/telemetry/index.ts';
import { testConfig } from '../../helpers/config.ts';
import { waitForMessages } from '../../helpers/kafka.ts';
import { testPipeline } from '../../helpers/pipeline.ts';
import { type SecureKafka, startSecureKafka } from '../../helpers/secure-kafka.ts';
import { waitFor } from '../../helpers/wait.ts';

const device = 'secure-router-1';
const intervalS = 60;

function poll(slot: bigint): DevicePoll {
  const slotStartNs = slot * BigInt(intervalS) * 1_000_000_000n;
  return {
    deviceId: device,
    protocol: 'snmp',
    intervalS,
    slot,
    slotStartNs,
    observedAtNs: slotStartNs + 1_000_000_000n,
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
      durationMs: 2,
      varbindsRequested: 1,
      varbindsReceived: 1,
      bytesCollected: 40,
    },
  };
}

/** `bin/amoskys ARGS` with the run's stack plus `env`; what a user would see. */
function cli(args: string[], env: Record<string, string>) {
  const result = spawnSync(path.join(repoRoot, 'bin/amoskys'), args, {
    env: { ...process.env, ...inject('amoskysEnv'), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The error a connect fails with. */
async function connectError(connect: () => Promise<void>): Promise<AmoskysError> {
  const err = await connect().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AmoskysError)) throw new Error(`expected an AmoskysError, got ${String(err)}`);
  return err;
}

describe('Kafka with SASL/SCRAM over TLS', () => {
  let secure: SecureKafka;
  beforeAll(async () => {
    secure = await startSecureKafka(testConfig());
  });
  afterAll(async () => {
    await secure?.stop();
  });

  it('carries a signed envelope from the producer through the processor to a feature row', async (ctx) => {
    const { config: piped, rawSchemaId } = await testPipeline(ctx, secure.configFor(testConfig()));
    const trustFile = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-trust-')), 'trust-store.json');
    const key = generateSigningKey({ keyId: 'secure-key', devices: [device] });
    writeTrustStore(trustFile, {
      format: 'amoskys.trust-store.v1',
      keys: [
        {
          keyId: key.keyId,
          publicKey: Buffer.from(key.publicKey).toString('base64'),
          devices: [device],
          notBefore: new Date(Date.now() - 86_400_000).toISOString(),
        },
      ],
    } as Parameters<typeof writeTrustStore>[1]);
    const config = { ...piped, processor: { ...piped.processor, trustStore: trustFile, workers: 1 } };
    expect(config.kafka).toMatchObject({
      ssl: true,
      brokers: [secure.broker],
      sasl: { mechanism: 'scram-sha-512' },
    });

    const logger = createLogger({ level: 'silent' });
    const kafka = createKafka(config, 'test');
    const producer = new BatchProducer(kafka, logger);
    await producer.start();
    ctx.onTestFinished(() => producer.close());
    const slot = BigInt(Math.floor(Date.now() / 1000 / intervalS)) - 1n;
    const envelope = buildSignedEnvelope(poll(slot), signerFor(key), BigInt(Date.now()) * 1_000_000n);
    await producer.send({
      topic: config.topics.raw,
      key: device,
      value: Buffer.from(frame(rawSchemaId, envelopeSchema.messageIndexes, envelope)),
    });

    const metrics = createMetricsRegistry('test');
    const logic = await createProcessorLogic({ config, logger, metrics });
    const stage = await startProcessor({ config, kafka, logic: logic.logic, logger, metrics });
    ctx.onTestFinished(async () => {
      await stage.close();
      await logic.close();
    });
    await waitFor(() => stage.stats().accepted === 1, {
      description: 'the processor to accept the envelope sent over SASL_SSL',
      timeoutMs: 60_000,
    });

    const [row] = await waitForMessages(kafka, config.topics.features, 1);
    const framed = unframe(new Uint8Array(row?.value ?? Buffer.alloc(0)));
    if (!framed.ok) throw new Error(framed.reason);
    const decoded = decodeFeatureRow(framed.payload);
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(decoded.row.idempotencyKey).toBe(`${device}/${intervalS}/${slot}`);
    expect(decoded.row.deviceId).toBe(device);
  });

  it('refuses a wrong password with an error that names SASL authentication and the broker', async () => {
    const wrong = 'not-the-password';
    const config = secure.configFor(testConfig(), { password: wrong });
    const err = await connectError(() => createKafka(config, 'test').admin().connect());
    expect(err.code).toBe(ErrorCode.KafkaConnection);
    expect(err.retriable).toBe(false);
    expect(err.message).toMatch(
      new RegExp(
        `^Kafka SASL authentication failed at ${secure.broker} \\(mechanism SCRAM-SHA-512, user "${secure.username}"\\)`,
      ),
    );
    expect(err.message).not.toContain(wrong);

    const run = cli(['topics', 'apply', '--dry-run'], secure.env({ password: wrong }));
    expect(run.code, run.stderr).toBe(1);
    const last = run.stderr.trim().split('\n').at(-1);
    expect(last).toMatch(new RegExp(`^amoskys: Kafka SASL authentication failed at ${secure.broker} `));
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(run.stderr + run.stdout).not.toContain(wrong);
  });

  it('refuses a broker certificate signed by another CA with a TLS error, without retrying', async () => {
    const config = secure.configFor(testConfig(), { caFile: secure.otherCaFile });
    const err = await connectError(() => createKafka(config, 'test').admin().connect());
    expect(err.code).toBe(ErrorCode.KafkaConnection);
    expect(err.retriable).toBe(false);
    expect(err.message).toMatch(
      new RegExp(
        `^TLS: the certificate of Kafka broker ${secure.broker} was rejected: .*\\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\)`,
      ),
    );
    expect(err.message).toContain(`kafka.caFile ${secure.otherCaFile}`);

    // Node's built-in CA list does not know the test CA either.
    const system = { ...config, kafka: { ...config.kafka } };
    delete system.kafka.caFile;
    const bySystem = await connectError(() => createKafka(system, 'test').admin().connect());
    expect(bySystem.message).toMatch(/^TLS: .*Node's built-in CA list/);

    const run = cli(['topics', 'apply', '--dry-run'], secure.env({ caFile: secure.otherCaFile }));
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`^amoskys: TLS: the certificate of Kafka broker ${secure.broker} was rejected`),
    );
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /);
  });

  it('applies the topics through the CLI with the right credentials', () => {
    const run = cli(['topics', 'apply', '--dry-run', '--json'], secure.env());
    expect(run.code, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout) as { kind: string; topic: string }[];
    expect(plan.map((c) => c.kind)).toContain('create');
  });
});
