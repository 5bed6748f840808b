/**
 * Producer -> processor -> sink on the real stack with faults on the storage side: the sink is
 * killed with SIGKILL at seeded random points while it inserts, ClickHouse is restarted while the
 * sink runs (local stack only), and at the end the sink group is rewound to the beginning of every
 * topic and replays it all. The analyst views must then hold every produced envelope once: byte
 * for byte in the archive, every metric, one feature row, every poison pill in the DLQ table.
 */

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../src/core/config/index.ts';
import { decodeEnvelope } from '../../src/core/envelope/index.ts';
import { unframe } from '../../src/core/registry/index.ts';
import { prng } from '../../src/producers/snmp/index.ts';
import { spawnSink, startTestPipeline } from '../helpers/stored-pipeline.ts';
import { waitFor } from '../helpers/wait.ts';

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', resolve));

describe('sink under faults', () => {
  it('shows each produced envelope once after SIGKILLs, a ClickHouse restart and a full replay', async (ctx) => {
    const seed = Number(process.env.AMOSKYS_CHAOS_SEED ?? Date.now() % 100_000);
    const random = prng(seed);
    const note = (text: string) => process.stderr.write(`[sink-faults seed ${seed}] ${text}\n`);
    const p = await startTestPipeline(ctx, { devices: 5, intervalS: 1, sink: false });
    const { config, db } = p;
    const database = config.clickhouse.database;
    const stored = async () =>
      Number((await db.rows<{ n: string }>(`SELECT count() AS n FROM ${database}.raw_envelopes`))[0]?.n);

    // Bad input on the raw topic: must end in the DLQ table, never in the archive.
    const poison = 3;
    const kafkaProducer = p.kafka.producer();
    await kafkaProducer.connect();
    ctx.onTestFinished(() => kafkaProducer.disconnect());
    await kafkaProducer.send({
      topic: config.topics.raw,
      messages: Array.from({ length: poison }, (_, i) => ({ key: 'garbage', value: `not an envelope ${i}` })),
    });

    // SIGKILL while inserting, three times.
    for (let k = 0; k < 3; k++) {
      const before = await stored();
      const sink = await spawnSink(ctx, config);
      await waitFor(async () => (await stored()) > before, {
        description: `sink ${k + 1} to insert`,
        timeoutMs: 60_000,
      });
      await new Promise((resolve) => setTimeout(resolve, random() * 1500));
      sink.kill('SIGKILL');
      await exited(sink);
      note(`killed sink ${k + 1} with SIGKILL`);
    }

    // ClickHouse restarts under a running sink, which pauses and resumes by itself.
    let sink = await spawnSink(ctx, config);
    if (inject('stackProvider') === 'local') {
      const script = (action: string) => {
        const r = spawnSync('bash', [`${repoRoot}/infra/local/clickhouse.sh`, action], {
          env: { ...process.env, ...inject('amoskysEnv') },
          encoding: 'utf8',
          timeout: 120_000,
        });
        if (r.status !== 0) throw new Error(`clickhouse.sh ${action}: ${r.stderr}`);
      };
      const before = await stored();
      await waitFor(async () => (await stored()) > before, {
        description: 'the sink to insert',
        timeoutMs: 60_000,
      });
      script('down');
      note('ClickHouse stopped');
      await new Promise((resolve) => setTimeout(resolve, 1000 + random() * 2000));
      script('up');
      note('ClickHouse started again');
      expect(sink.exitCode, 'the sink must survive a ClickHouse restart').toBeNull();
      const after = await stored();
      await waitFor(async () => (await stored()) > after, {
        description: 'the sink to insert again after the restart',
        timeoutMs: 60_000,
      });
    } else {
      note(`stack provider ${inject('stackProvider')}: ClickHouse restart skipped`);
    }

    // A re-sent envelope (a producer retry): same bytes, a later offset.
    const produced = await p.stopProducing(poison);
    const resend = produced.filter((m) => m.key?.toString() !== 'garbage').slice(0, 5);
    await kafkaProducer.send({
      topic: config.topics.raw,
      messages: resend.map((m) => ({ key: m.key, value: m.value })),
    });
    const processed = produced.length + resend.length;
    await waitFor(() => p.processor.stats().in >= processed, {
      description: 'the processor to take the re-sent envelopes',
      timeoutMs: 60_000,
    });
    const accepted = p.processor.stats().accepted;
    await p.waitStored(accepted, 120_000);
    note(`${produced.length} raw messages, ${accepted} accepted; stored; replaying from the beginning`);

    // Replay: rewind the sink group to the beginning of every topic and let it store it all again.
    sink.kill('SIGTERM');
    await exited(sink);
    const admin = p.kafka.admin();
    await admin.connect();
    ctx.onTestFinished(() => admin.disconnect());
    const topics = [config.topics.raw, config.topics.features, config.topics.dlq];
    for (const topic of topics)
      await admin.resetOffsets({ groupId: config.sink.groupId, topic, earliest: true });
    const insertedBefore = await stored();
    sink = await spawnSink(ctx, config);
    await waitFor(
      async () => {
        for (const topic of topics) {
          const end = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId: config.sink.groupId, topics: [topic] });
          const at = (partition: number) =>
            Number(committed?.partitions.find((c) => c.partition === partition)?.offset ?? -1);
          const behind = end.filter((e) => Number(e.offset) !== 0 && at(e.partition) !== Number(e.offset));
          if (behind.length > 0) {
            throw new Error(
              `${topic}: ${behind.map((e) => `partition ${e.partition} committed ${at(e.partition)} of ${e.offset}`).join(', ')}`,
            );
          }
        }
        return true;
      },
      {
        description: 'the replaying sink to commit every topic to its end',
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    sink.kill('SIGTERM');
    await exited(sink);
    note(
      `replay done; raw_envelopes held ${insertedBefore} rows before it, ${await stored()} after (copies until merged)`,
    );

    // Every accepted envelope once, byte for byte, with all its metrics and one feature row.
    const expected = new Map<string, { hex: string; metrics: number }>();
    for (const m of produced) {
      const framed = unframe(m.value ?? Buffer.alloc(0));
      if (!framed.ok) continue;
      const decoded = decodeEnvelope(framed.payload);
      if (!decoded.ok) continue;
      expected.set(decoded.envelope.header.idempotencyKey, {
        hex: (m.value as Buffer).toString('hex').toUpperCase(),
        metrics: decoded.envelope.telemetry?.metrics.length ?? 0,
      });
    }
    expect(expected.size, `seed ${seed}`).toBe(accepted);
    const raw = await db.rows<{ idempotency_key: string; hex: string }>(
      `SELECT idempotency_key, hex(bytes) AS hex FROM ${database}.v_raw_envelopes`,
    );
    expect(raw.length, `seed ${seed}: archive rows`).toBe(expected.size);
    for (const r of raw) expect(r.hex, r.idempotency_key).toBe(expected.get(r.idempotency_key)?.hex);
    const [views] = await db.rows<Record<string, string>>(
      `SELECT
         (SELECT count() FROM ${database}.v_metrics) AS metrics,
         (SELECT count() FROM ${database}.v_features) AS features,
         (SELECT uniqExact(idempotency_key) FROM ${database}.v_features) AS feature_keys,
         (SELECT count() FROM ${database}.v_dlq) AS dlq,
         (SELECT countIf(reason = 'wrong_magic' OR reason = 'undecodable') FROM ${database}.v_dlq) AS dlq_bad_frames`,
    );
    const metricsExpected = [...expected.values()].reduce((sum, e) => sum + e.metrics, 0);
    expect(Number(views?.metrics), `seed ${seed}: metric rows`).toBe(metricsExpected);
    expect(Number(views?.features), `seed ${seed}: feature rows`).toBe(expected.size);
    expect(Number(views?.feature_keys), `seed ${seed}`).toBe(expected.size);
    expect(Number(views?.dlq), `seed ${seed}: dead letters`).toBe(poison);
    expect(Number(views?.dlq_bad_frames), `seed ${seed}`).toBe(poison);
    // The processor's books close too: everything read is a row, a dead letter or a duplicate.
    const s = p.processor.stats();
    expect(s.in).toBe(s.accepted + s.rejected + s.duplicates);
    expect(s.duplicates, `seed ${seed}: the re-sent envelopes`).toBe(resend.length);
  }, 600_000);
});
