/**
 * No secret reaches a log. Every command runs at log level `trace` (kafkajs and @clickhouse/client
 * at their most verbose) with every secret setting filled with a random value: the configuration
 * printed and refused, successful work over SASL_SSL Kafka and a password-protected ClickHouse
 * user (topics, schemas, migrations, the processor and the sink moving a real envelope), and
 * failed connections. No output may contain a secret, in clear, base64 (at any alignment, as in a
 * Basic authorization header), base64url, hex or URL-encoded. The secured broker's own log is
 * checked too. (This test found configuration errors printing the whole configuration, secrets
 * included, for an unknown key; src/core/config/load.ts now shows objects by their keys.)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse } from '../../../src/core/clickhouse/index.ts';
import { repoRoot } from '../../../src/core/config/index.ts';
import { generateSigningKey, signerFor, writeTrustStore } from '../../../src/core/crypto/index.ts';
import { buildSignedEnvelope, envelopeSchema } from '../../../src/core/envelope/index.ts';
import { BatchProducer, createKafka } from '../../../src/core/kafka/index.ts';
import { createLogger } from '../../../src/core/logging/index.ts';
import { frame } from '../../../src/core/registry/index.ts';
import type { DevicePoll } from '../../../src/core/telemetry/index.ts';
import { clickhouseTestUser } from '../../helpers/clickhouse-user.ts';
import { testConfig } from '../../helpers/config.ts';
import { waitForMessages } from '../../helpers/kafka.ts';
import { testPipeline } from '../../helpers/pipeline.ts';
import { type SecureKafka, startSecureKafka } from '../../helpers/secure-kafka.ts';
import { waitFor } from '../../helpers/wait.ts';

const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;

/**
 * Every way a secret could be spelled in a log line. For base64 the secret is encoded at each of
 * the three byte alignments and only the characters that depend on the secret alone are kept, so
 * a secret inside a longer encoded value (`user:password` in a Basic header) is found as well.
 */
function spellings(value: string): string[] {
  const bytes = Buffer.from(value);
  const out = new Set([
    value,
    bytes.toString('hex'),
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
  ]);
  for (const pad of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(pad), bytes]);
    for (const text of [encoded.toString('base64'), encoded.toString('base64url')]) {
      out.add(text.slice(pad === 0 ? 0 : 4, -4));
    }
  }
  return [...out];
}

/** The secrets (with their names) found in `text`. */
function leaks(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets).flatMap(([name, value]) =>
    spellings(value)
      .filter((s) => text.includes(s))
      .map((s) => `${name} as ${JSON.stringify(s)}`),
  );
}

function poll(device: string, slot: bigint): DevicePoll {
  const slotStartNs = slot * 60_000_000_000n;
  return {
    deviceId: device,
    protocol: 'snmp',
    intervalS: 60,
    slot,
    slotStartNs,
    observedAtNs: slotStartNs + 1_000_000_000n,
    metrics: [
      {
        name: 'sys_uptime',
        value: { kind: 'numeric', value: 1 },
        unit: 'centiseconds',
        oid: '1.3.6.1.2.1.1.3.0',
        labels: [],
      },
    ],
    status: {
      state: 'ok',
      reason: '',
      durationMs: 1,
      varbindsRequested: 1,
      varbindsReceived: 1,
      bytesCollected: 30,
    },
  };
}

interface Run {
  name: string;
  code: number | null;
  output: string;
}

describe('no secret in any log', () => {
  let secure: SecureKafka;
  beforeAll(async () => {
    secure = await startSecureKafka(testConfig());
  });
  afterAll(async () => {
    await secure?.stop();
  });

  it('keeps every secret out of the output of every command at log level trace', async (ctx) => {
    const base = testConfig();
    const database = `${base.clickhouse.database}_secrets_${randomBytes(3).toString('hex')}`;
    const user = await clickhouseTestUser(ctx, base, { databases: [database] });
    if (user === undefined) {
      ctx.skip('ClickHouse 18.16 that is not the local server: cannot add a user');
      return;
    }
    const admin = createClickHouse(base, { database: null });
    ctx.onTestFinished(async () => {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await admin.close();
    });

    // A private pipeline on the secured broker, a signing key and one envelope waiting in it.
    const { config, rawSchemaId } = await testPipeline(ctx, secure.configFor(base));
    const device = 'secret-router-1';
    const key = generateSigningKey({ keyId: 'secrets-key', devices: [device] });
    const trustFile = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-trust-')), 'trust-store.json');
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
    const kafka = createKafka(config, 'test');
    const producer = new BatchProducer(kafka, createLogger({ level: 'silent' }));
    await producer.start();
    ctx.onTestFinished(() => producer.close());
    const slot = BigInt(Math.floor(Date.now() / 60_000)) - 1n;
    await producer.send({
      topic: config.topics.raw,
      key: device,
      value: Buffer.from(
        frame(
          rawSchemaId,
          envelopeSchema.messageIndexes,
          buildSignedEnvelope(poll(device, slot), signerFor(key), BigInt(Date.now()) * 1_000_000n),
        ),
      ),
    });

    const secrets = {
      kafkaPassword: secure.password,
      wrongKafkaPassword: secret('kafka-wrong'),
      clickhousePassword: user.password,
      wrongClickhousePassword: secret('ch-wrong'),
      registryPassword: secret('registry'),
      snmpCommunity: secret('community'),
      snmpAuthPass: secret('auth'),
      snmpPrivPass: secret('priv'),
      misspelledInFile: secret('misspelled'),
    };
    const env: Record<string, string> = {
      ...inject('amoskysEnv'),
      ...secure.env(),
      AMOSKYS_LOG_LEVEL: 'trace',
      AMOSKYS_TOPIC_RAW: config.topics.raw,
      AMOSKYS_TOPIC_FEATURES: config.topics.features,
      AMOSKYS_TOPIC_DLQ: config.topics.dlq,
      AMOSKYS_TOPIC_PROCESSOR_STATE: config.topics.processorState,
      AMOSKYS_PROCESSOR_GROUP_ID: config.processor.groupId,
      AMOSKYS_PROCESSOR_TRUST_STORE: trustFile,
      AMOSKYS_SINK_GROUP_ID: `${config.processor.groupId}-sink`,
      AMOSKYS_SINK_FLUSH_INTERVAL_MS: '200',
      AMOSKYS_CLICKHOUSE_USERNAME: user.username,
      AMOSKYS_CLICKHOUSE_PASSWORD: user.password,
      AMOSKYS_CLICKHOUSE_DATABASE: database,
      AMOSKYS_REGISTRY_USERNAME: 'amoskys-registry-user',
      AMOSKYS_REGISTRY_PASSWORD: secrets.registryPassword,
      AMOSKYS_SNMP_COMMUNITY: secrets.snmpCommunity,
      AMOSKYS_SNMP_V3_AUTH_PASS: secrets.snmpAuthPass,
      AMOSKYS_SNMP_V3_PRIV_PASS: secrets.snmpPrivPass,
      AMOSKYS_METRICS_PORT: '0',
    };
    const runs: Run[] = [];
    const t0 = Date.now();
    const note = (text: string) => {
      if (process.env.AMOSKYS_TEST_VERBOSE === '1')
        process.stderr.write(`[secrets +${Date.now() - t0} ms] ${text}\n`);
    };
    const bin = path.join(repoRoot, 'bin/amoskys');
    const run = (name: string, args: string[], extra: Record<string, string> = {}): Run => {
      const r = spawnSync(bin, args, {
        env: { ...process.env, ...env, ...extra },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const result = { name, code: r.status, output: `${r.stdout}${r.stderr}` };
      runs.push(result);
      note(`${name}: exit ${r.status}, ${result.output.length} characters of output`);
      return result;
    };
    const start = (name: string, args: string[]) => {
      const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const result: Run = { name, code: null, output: '' };
      runs.push(result);
      const append = (chunk: Buffer) => {
        result.output += chunk.toString();
      };
      child.stdout.on('data', append);
      child.stderr.on('data', append);
      const exited = new Promise<void>((resolve) =>
        child.once('exit', (code) => {
          result.code = code;
          resolve();
        }),
      );
      ctx.onTestFinished(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      return { child, result, exited };
    };
    const stop = async (p: { child: ChildProcess; exited: Promise<void> }) => {
      p.child.kill('SIGTERM');
      await p.exited;
    };

    // The configuration, printed and refused.
    expect(run('config print', ['config', 'print']).code).toBe(0);
    expect(run('config print --json --sources', ['config', 'print', '--json', '--sources']).code).toBe(0);
    const invalid = run('invalid config', ['config', 'print'], {
      AMOSKYS_KAFKA_SASL_MECHANISM: 'kerberos',
      AMOSKYS_SNMP_V3_AUTH_PASS: secrets.snmpAuthPass.slice(0, 7),
    });
    expect(invalid.code).toBe(2);
    expect(invalid.output).toContain('snmp.v3.authPass');
    // Unknown keys are reported on their parent: once the whole configuration, secrets and all.
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'amoskys-config-')), 'amoskys.yaml');
    writeFileSync(file, `unknownKey: 1\nregistry:\n  pasword: ${secrets.misspelledInFile}\n`);
    const unknown = run('config file with unknown keys', ['config', 'print'], { AMOSKYS_CONFIG: file });
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('Unrecognized key: "pasword"');

    // Successful work with every credential.
    expect(run('topics apply', ['topics', 'apply']).code).toBe(0);
    expect(run('schemas apply --dry-run', ['schemas', 'apply', '--dry-run']).code).toBe(0);
    expect(run('clickhouse migrate', ['clickhouse', 'migrate']).code).toBe(0);
    const processor = start('processor run', ['processor', 'run']);
    const sink = start('sink run', ['sink', 'run']);
    await waitForMessages(kafka, config.topics.features, 1, 60_000);
    note('feature row on the topic');
    await waitFor(
      async () => {
        const rows = await (
          await admin.query({ query: `SELECT count() AS n FROM ${database}.features`, format: 'JSONEachRow' })
        ).json<{ n: string }>();
        return Number(rows[0]?.n ?? 0) >= 1;
      },
      { description: 'the sink to store the feature row', timeoutMs: 60_000, intervalMs: 250 },
    );
    note('feature row in ClickHouse');
    await Promise.all([stop(processor), stop(sink)]);
    note('processor and sink stopped');

    // Failed connections.
    const kafkaRefused = run('topics apply, wrong Kafka password', ['topics', 'apply', '--dry-run'], {
      AMOSKYS_KAFKA_SASL_PASSWORD: secrets.wrongKafkaPassword,
    });
    expect(kafkaRefused.code).toBe(1);
    expect(kafkaRefused.output).toContain('Kafka SASL authentication failed');
    const clickhouseRefused = run('clickhouse migrate, wrong password', ['clickhouse', 'migrate'], {
      AMOSKYS_CLICKHOUSE_PASSWORD: secrets.wrongClickhousePassword,
    });
    expect(clickhouseRefused.code).toBe(1);
    expect(clickhouseRefused.output).toContain('ClickHouse authentication failed');
    const registryDown = run('schemas apply, registry unreachable', ['schemas', 'apply', '--dry-run'], {
      AMOSKYS_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7',
    });
    expect(registryDown.code).toBe(1);

    // The runs were verbose enough to mean something: kafkajs debug lines, ClickHouse client trace lines.
    const all = runs.map((r) => r.output).join('\n');
    expect(/"lib":"kafkajs".*SaslAuthenticate/.test(all), 'kafkajs SASL debug lines').toBe(true);
    expect(/"level":10,.*"lib":"@clickhouse\/client"/.test(all), '@clickhouse/client trace lines').toBe(true);
    if (process.env.AMOSKYS_TEST_VERBOSE === '1') {
      for (const r of runs)
        writeFileSync(path.join(tmpdir(), `amoskys-secrets-${r.name.replace(/\W+/g, '-')}.log`), r.output);
    }
    for (const r of runs) {
      expect(leaks(r.output, secrets), `${r.name} (exit ${r.code})`).toEqual([]);
    }
    expect(leaks(readFileSync(secure.logFile, 'utf8'), secrets), 'the secured broker log').toEqual([]);
  });
});
