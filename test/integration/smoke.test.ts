/**
 * Smoke test of the four real services the pipeline stands on, through the client libraries the
 * pipeline uses: kafkajs, @kafkajs/confluent-schema-registry, @clickhouse/client and net-snmp.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { Partitioners } from 'kafkajs';
import snmp from 'net-snmp';
import { describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/core/clickhouse/index.ts';
import { createRegistry } from '../../src/core/registry/index.ts';
import { testConfig } from '../helpers/config.ts';
import { randomTopic, testKafka, waitForMessages } from '../helpers/kafka.ts';

const config = testConfig();

describe('Kafka', () => {
  it('creates a topic, produces and consumes keyed messages in order', async (ctx) => {
    const kafka = testKafka(config);
    const topic = await randomTopic(ctx, kafka, { purpose: 'smoke' });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    const sent = ['first', 'second', 'third'].map((v, i) => ({
      key: `device-${i}`,
      value: `${v}-${randomBytes(2).toString('hex')}`,
    }));
    try {
      await producer.send({ topic, acks: -1, messages: sent });
    } finally {
      await producer.disconnect();
    }
    const received = await waitForMessages(kafka, topic, sent.length);
    expect(received.map((m) => ({ key: m.key?.toString(), value: m.value?.toString() }))).toEqual(sent);
  });
});

describe('Schema Registry', () => {
  it('registers a protobuf schema and serves it back by id', async (ctx) => {
    const registry = createRegistry(config);
    const subject = `amoskys.test.smoke-${randomBytes(4).toString('hex')}.v1-value`;
    const schema = `syntax = "proto3";\npackage amoskys.test.v1;\n\nmessage Smoke {\n  string device_id = 1;\n  uint64 ts_ns = 2;\n}\n`;
    ctx.onTestFinished(async () => {
      await fetch(`${config.registry.url}/subjects/${subject}`, { method: 'DELETE' });
      await fetch(`${config.registry.url}/subjects/${subject}?permanent=true`, { method: 'DELETE' });
    });

    const { id } = await registry.register({ type: SchemaType.PROTOBUF, schema }, { subject });
    expect(id).toBeGreaterThan(0);
    expect(await registry.getLatestSchemaId(subject)).toBe(id);

    // By id, through the library (it parses the protobuf schema) ...
    const fetched = await registry.getSchema(id);
    expect(fetched).toBeDefined();
    // ... and as raw text from the Confluent API, which must be the schema we registered.
    const raw = (await (await fetch(`${config.registry.url}/schemas/ids/${id}`)).json()) as {
      schema: string;
      schemaType?: string;
    };
    expect(raw.schemaType).toBe('PROTOBUF');
    expect(raw.schema).toContain('message Smoke');
    expect(raw.schema).toContain('ts_ns = 2');
  });
});

describe('ClickHouse', () => {
  it('creates a table, inserts and selects rows', async (ctx) => {
    const client = createClickHouse(config);
    ctx.onTestFinished(() => client.close());
    const table = `smoke_${randomBytes(4).toString('hex')}`;
    await client.command({
      query: `CREATE TABLE ${table} (device_id String, ts DateTime, value Float64) ENGINE = MergeTree ORDER BY (device_id, ts)`,
    });
    const rows = [
      { device_id: 'dev-a', ts: '2026-11-29 10:00:00', value: 1.5 },
      { device_id: 'dev-b', ts: '2026-11-29 10:00:01', value: -2.25 },
    ];
    await client.insert({ table, values: rows, format: 'JSONEachRow' });
    const result = await client.query({
      query: `SELECT device_id, toString(ts) AS ts, value FROM ${table} ORDER BY device_id`,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual(rows);
  });
});

describe('snmpd', () => {
  const oids = { sysDescr: '1.3.6.1.2.1.1.1.0', sysUpTime: '1.3.6.1.2.1.1.3.0' };

  function netSnmpGet(): Promise<snmp.Varbind[]> {
    const session = snmp.createSession(config.snmp.host, config.snmp.community, {
      port: config.snmp.port,
      version: snmp.Version2c,
      timeout: 2000,
      retries: 1,
    });
    return new Promise((resolve, reject) => {
      session.get([oids.sysDescr, oids.sysUpTime], (err, varbinds) => {
        session.close();
        if (err) reject(err);
        else resolve(varbinds ?? []);
      });
    });
  }

  it('answers GET of sysDescr and sysUpTime, agreeing with snmpget', async () => {
    const [descr, uptime] = await netSnmpGet();
    expect(descr && !snmp.isVarbindError(descr)).toBe(true);
    expect(uptime && !snmp.isVarbindError(uptime)).toBe(true);
    expect(descr?.type).toBe(snmp.ObjectType.OctetString);
    expect(uptime?.type).toBe(snmp.ObjectType.TimeTicks);
    expect(Number(uptime?.value)).toBeGreaterThan(0);

    // An independent read with Net-SNMP's own snmpget must see the same sysDescr.
    const { stdout } = await promisify(execFile)('snmpget', [
      '-v2c',
      '-c',
      config.snmp.community,
      '-Oqv',
      `${config.snmp.host}:${config.snmp.port}`,
      oids.sysDescr,
    ]);
    expect(String(descr?.value)).toBe(stdout.trim().replace(/^"|"$/g, ''));
  });
});
