/**
 * The producer stage end to end against the real snmpd, Kafka and registry: one poll of the local
 * snmpd lands on the raw topic as a signed, framed envelope carrying all 29 metrics, each value
 * equal to a direct SNMP read of the same OID.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, signerFor } from '../../src/core/crypto/index.ts';
import { decodeEnvelope, envelopeSchema, verifyEnvelopeBytes } from '../../src/core/envelope/index.ts';
import { createLogger } from '../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../src/core/metrics/index.ts';
import { applySubject, deleteSubject, unframe } from '../../src/core/registry/index.ts';
import type { Metric } from '../../src/core/telemetry/index.ts';
import { buildInventory, defaultProfile, startProducer } from '../../src/producers/snmp/index.ts';
import { testConfig } from '../helpers/config.ts';
import { randomTopic, testKafka, waitForMessages } from '../helpers/kafka.ts';
import { cliRead, expectMetricsMatchAgent } from '../helpers/snmp-compare.ts';
import { waitFor } from '../helpers/wait.ts';

describe('producer stage', () => {
  it('puts one poll of snmpd on the raw topic as a signed envelope with every value read', async (ctx) => {
    const base = testConfig();
    const kafka = testKafka(base);
    const topic = await randomTopic(ctx, kafka, { purpose: 'raw' });
    const config = { ...base, topics: { ...base.topics, raw: topic } };
    const subject = `${topic}-value`;
    const registered = await applySubject(config, {
      subject,
      compatibility: 'BACKWARD_TRANSITIVE',
      schema: envelopeSchema.source,
    });
    ctx.onTestFinished(async () => {
      await deleteSubject(config, subject);
      await deleteSubject(config, subject, { permanent: true });
    });
    expect(registered.status).toBe('registered');

    const key = generateSigningKey({
      keyId: `test-${randomBytes(3).toString('hex')}`,
      devices: ['local-snmpd'],
    });
    const devices = buildInventory({
      devices: [
        {
          id: 'local-snmpd',
          address: config.snmp.host,
          port: config.snmp.port,
          version: 'v2c',
          community: config.snmp.community,
          intervalSeconds: 30,
        },
      ],
    }).devices;

    const before = await cliRead(config);
    const produced: bigint[] = [];
    const stage = await startProducer({
      config,
      kafka,
      devices,
      signer: signerFor(key),
      logger: createLogger({ level: 'silent' }),
      metrics: createMetricsRegistry('test'),
      onProduced: (poll) => produced.push(poll.slot),
    });
    ctx.onTestFinished(() => stage.close());
    await waitFor(() => produced.length > 0, {
      description: 'the first envelope acknowledged',
      timeoutMs: 40_000,
    });
    await stage.close();
    const after = await cliRead(config);

    const [message] = await waitForMessages(kafka, topic, 1);
    expect(message?.key?.toString()).toBe('local-snmpd');
    const framed = unframe(new Uint8Array(message?.value ?? Buffer.alloc(0)));
    if (!framed.ok) throw new Error(`not Confluent-framed: ${framed.reason}`);
    expect(framed.schemaId).toBe(registered.status === 'registered' ? registered.id : -1);
    expect(framed.messageIndexes).toEqual([0]);

    const verified = verifyEnvelopeBytes(framed.payload, (id) =>
      id === key.keyId ? key.publicKey : undefined,
    );
    expect(verified).toMatchObject({ ok: true, signingKeyId: key.keyId });
    const decoded = decodeEnvelope(framed.payload);
    if (!decoded.ok) throw new Error(`undecodable: ${decoded.reason}`);
    const { header, telemetry } = decoded.envelope;
    expect(header.idempotencyKey).toBe(`local-snmpd/30/${produced[0]}`);
    expect(telemetry?.statuses.map((s) => s.state)).toEqual(['ok']);

    const metrics = (telemetry?.metrics ?? []) as Metric[];
    expect(new Set(metrics.map((m) => m.name)).size).toBe(defaultProfile.metrics.length);
    expect(defaultProfile.metrics).toHaveLength(29);
    expectMetricsMatchAgent(metrics, before, after);
  });

  it('puts an envelope with an unreachable status on the topic for a dead device, and counts it', async (ctx) => {
    const base = testConfig();
    const kafka = testKafka(base);
    const topic = await randomTopic(ctx, kafka, { purpose: 'raw' });
    const config = { ...base, topics: { ...base.topics, raw: topic } };
    const subject = `${topic}-value`;
    await applySubject(config, {
      subject,
      compatibility: 'BACKWARD_TRANSITIVE',
      schema: envelopeSchema.source,
    });
    ctx.onTestFinished(async () => {
      await deleteSubject(config, subject);
      await deleteSubject(config, subject, { permanent: true });
    });

    // A loopback UDP port nobody listens on.
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const deadPort = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));

    const key = generateSigningKey({
      keyId: `test-${randomBytes(3).toString('hex')}`,
      devices: ['dead-device'],
    });
    const devices = buildInventory({
      devices: [
        {
          id: 'dead-device',
          address: '127.0.0.1',
          port: deadPort,
          version: 'v2c',
          community: config.snmp.community,
          intervalSeconds: 10,
          timeoutMs: 300,
          retries: 1,
          deadlineMs: 2000,
        },
      ],
    }).devices;
    const metrics = createMetricsRegistry('test');
    let produced = 0;
    const stage = await startProducer({
      config,
      kafka,
      devices,
      signer: signerFor(key),
      logger: createLogger({ level: 'silent' }),
      metrics,
      onProduced: () => produced++,
    });
    ctx.onTestFinished(() => stage.close());
    await waitFor(() => produced > 0, {
      description: 'the dead device’s envelope acknowledged',
      timeoutMs: 30_000,
    });
    await stage.close();

    const [message] = await waitForMessages(kafka, topic, 1);
    const framed = unframe(new Uint8Array(message?.value ?? Buffer.alloc(0)));
    if (!framed.ok) throw new Error(`not Confluent-framed: ${framed.reason}`);
    const decoded = decodeEnvelope(framed.payload);
    if (!decoded.ok) throw new Error(`undecodable: ${decoded.reason}`);
    expect(decoded.envelope.telemetry?.deviceId).toBe('dead-device');
    expect(decoded.envelope.telemetry?.metrics).toEqual([]);
    expect(decoded.envelope.telemetry?.statuses).toEqual([
      expect.objectContaining({ state: 'unreachable', reason: expect.stringMatching(/.+/) }),
    ]);
    const polls = (await metrics.getSingleMetric('amoskys_snmp_polls_total')?.get())?.values ?? [];
    expect(polls).toContainEqual(expect.objectContaining({ labels: { state: 'unreachable' }, value: 1 }));
  });
});
