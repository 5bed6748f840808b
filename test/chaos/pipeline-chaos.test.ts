/**
 * The pipeline under faults: producer, processor and sink run as child processes (`amoskys
 * <stage> run`), the producer polls the local snmpd and a simulated fleet every second, and a
 * seeded schedule SIGKILLs each stage at random points and restarts the Kafka broker, the Schema
 * Registry, ClickHouse and snmpd under them. Then production stops, the pipeline drains, and the
 * run is reconciled (./reconcile.ts): every envelope on the raw topic in the analyst views once,
 * byte for byte, with all its metrics; every poison pill in the DLQ once; the processor's books
 * closed; `amoskys analyze` exit 0. A table of faults injected and survived goes to stderr and,
 * as JSON, to `<stateDir>/chaos/<timestamp>.json`.
 *
 * Bounded (CI): each fault once. `AMOSKYS_CHAOS=full`: more devices, each fault several times,
 * longer outages. `AMOSKYS_CHAOS_SEED=<n>` replays a schedule. Local stack only: the services are
 * restarted with infra/local/<service>.sh, which would be wrong on anyone else's stack. See
 * docs/reliability.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { createClickHouse } from '../../src/core/clickhouse/index.ts';
import { type Config, repoRoot } from '../../src/core/config/index.ts';
import { generateSigningKey, writeKeyFile, writeTrustStore } from '../../src/core/crypto/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import { startSimulator } from '../../src/producers/snmp/index.ts';
import { testDatabase } from '../helpers/clickhouse.ts';
import { testConfig } from '../helpers/config.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { childEnv } from '../helpers/stored-pipeline.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  chaosSettings,
  type FaultKind,
  type FaultRecord,
  faultLabels,
  pause,
  planFaults,
  prng,
  renderSummary,
  StageProcess,
  serviceScript,
  summarize,
  type UnexpectedExit,
  writeReport,
} from './faults.ts';
import { expectationsOf, readTopic, reconcile } from './reconcile.ts';

const settings = chaosSettings();
const tag = `[chaos ${settings.mode} seed ${settings.seed}]`;
const note = (text: string) => process.stderr.write(`${tag} ${text}\n`);

const services: Partial<Record<FaultKind, 'kafka' | 'registry' | 'clickhouse' | 'snmpd'>> = {
  'restart-kafka': 'kafka',
  'restart-registry': 'registry',
  'restart-clickhouse': 'clickhouse',
  'restart-snmpd': 'snmpd',
};

describe('pipeline under faults', () => {
  it(
    `loses nothing and duplicates nothing (${settings.mode}, seed ${settings.seed})`,
    async (ctx) => {
      const provider = inject('stackProvider');
      if (provider !== 'local') {
        note(
          `skipped: the stack provider is ${provider}; the chaos suite restarts services only on the local stack`,
        );
        ctx.skip(`stack provider ${provider}: chaos runs on the local stack only`);
        return;
      }
      const started = Date.now();
      const random = prng(settings.seed);
      const plan = planFaults(settings, random);
      note(`schedule: ${plan.map((f) => f.kind).join(', ')}`);

      // Setup: private topics and subjects, a migrated database, a fleet, a key and its trust store.
      const base = testConfig();
      const pipeline = await testPipeline(ctx, base);
      const sinkGroup = pipeline.config.processor.groupId.replace('-processor-', '-sink-');
      const db = await testDatabase(ctx, {
        ...pipeline.config,
        sink: { ...pipeline.config.sink, groupId: sinkGroup },
      });
      const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
      const chaosDir = path.join(base.stateDir, 'chaos');
      const runDir = path.join(chaosDir, stamp);
      mkdirSync(runDir, { recursive: true });
      note(`logs of the stages and services in ${runDir}`);

      const simulator = await startSimulator({ count: settings.devices, community: base.snmp.community });
      ctx.onTestFinished(() => simulator.close());
      const fleet = simulator.inventory({ intervalSeconds: settings.intervalS });
      const inventory = {
        ...fleet,
        devices: [
          {
            id: 'local-snmpd',
            address: base.snmp.host,
            port: base.snmp.port,
            version: 'v2c' as const,
            community: base.snmp.community,
          },
          ...fleet.devices,
        ],
      };
      const devices = inventory.devices.map((d) => d.id);
      const inventoryFile = path.join(runDir, 'inventory.yaml');
      writeFileSync(inventoryFile, toYaml(inventory));
      const key = generateSigningKey({ keyId: 'chaos', devices });
      const keyFile = path.join(runDir, 'producer-key.json');
      writeKeyFile(keyFile, key);
      const trustStore = path.join(runDir, 'trust-store.json');
      writeTrustStore(trustStore, {
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
      const config: Config = { ...db.config, processor: { ...db.config.processor, trustStore } };
      const database = config.clickhouse.database;
      // The suite's own variables are no settings: the stages would warn about each at start.
      const env = Object.fromEntries(
        Object.entries({
          ...childEnv(config),
          AMOSKYS_LOG_LEVEL: process.env.AMOSKYS_TEST_VERBOSE === '1' ? 'info' : 'warn',
        }).filter(([name]) => !/^AMOSKYS_(CHAOS|TEST_)/.test(name)),
      );

      // The stages, supervised: an exit nobody asked for is recorded and the stage started again.
      const exits: UnexpectedExit[] = [];
      const onUnexpectedExit = (exit: UnexpectedExit) => {
        exits.push(exit);
        note(`${exit.stage} exited by itself (code ${exit.code}, signal ${exit.signal}); restarting it`);
      };
      const stage = (name: string, args: string[], readyMarker: string) => {
        const s = new StageProcess({
          stage: name,
          args,
          env,
          readyMarker,
          logFile: path.join(runDir, `${name}.log`),
          onUnexpectedExit,
        });
        ctx.onTestFinished(() => s.close());
        return s;
      };
      const producer = stage(
        'producer',
        ['producer', 'run', '--inventory', inventoryFile, '--key-file', keyFile],
        '[producer] polling',
      );
      const processor = stage('processor', ['processor', 'run'], '[processor] partitions assigned');
      const sink = stage('sink', ['sink', 'run'], '[sink] partitions assigned');
      const stages: Record<'producer' | 'processor' | 'sink', StageProcess> = { producer, processor, sink };
      await Promise.all([sink.start(), processor.start()]);
      await producer.start();

      const clickhouse = createClickHouse(config);
      ctx.onTestFinished(() => clickhouse.close());
      /** Feature rows stored for envelopes built at or after `sinceMs`. */
      const storedSince = async (sinceMs: number, extra = '') => {
        const result = await clickhouse.query({
          query: `SELECT count() AS n FROM ${database}.features WHERE envelope_ts_ns >= ${BigInt(sinceMs) * 1_000_000n}${extra}`,
          format: 'JSONEachRow',
        });
        return Number((await result.json<{ n: string }>())[0]?.n ?? 0);
      };
      await waitFor(async () => (await storedSince(started)) > 0, {
        description: `${tag} the first feature row in ClickHouse`,
        timeoutMs: 120_000,
        intervalMs: 250,
      });
      note(`pipeline flowing after ${Date.now() - started} ms; ${plan.length} faults to inject`);

      // Poison pills on the raw topic, one before each fault: the DLQ path under the same faults.
      const kafka = createKafka(config, 'chaos-test');
      const poisonProducer = kafka.producer();
      await poisonProducer.connect();
      ctx.onTestFinished(() => poisonProducer.disconnect());
      const poison: Buffer[] = [];

      const records: FaultRecord[] = [];
      for (const [i, planned] of plan.entries()) {
        await pause(planned.gapMs);
        const value = Buffer.from(`chaos poison ${i + 1} seed ${settings.seed}`);
        await poisonProducer.send({ topic: config.topics.raw, messages: [{ key: 'garbage', value }] });
        poison.push(value);

        const record: FaultRecord = {
          kind: planned.kind,
          index: i + 1,
          injectedAtMs: Date.now(),
          downtimeMs: planned.downtimeMs,
          restoredAtMs: null,
          recoveryMs: null,
          unexpectedExits: [],
          survived: false,
          slotsNotProduced: 0,
          notes: [],
        };
        records.push(record);
        const exitsBefore = exits.length;
        try {
          await inject_(planned.kind, planned.downtimeMs, record);
          record.restoredAtMs = Date.now();
          const since = record.restoredAtMs;
          const snmpd =
            planned.kind === 'restart-snmpd' ? ` AND device_id = 'local-snmpd' AND poll_state = 'ok'` : '';
          await waitFor(async () => (await storedSince(since, snmpd)) > 0, {
            description: `${tag} fault ${i + 1} (${planned.kind}): a feature row of an envelope built after the restart`,
            timeoutMs: settings.recoveryTimeoutMs,
            intervalMs: 250,
          });
          record.recoveryMs = Date.now() - since;
        } catch (err) {
          record.notes.push(err instanceof Error ? err.message : String(err));
        }
        record.unexpectedExits = exits.slice(exitsBefore);
        for (const exit of record.unexpectedExits) {
          record.notes.push(`${exit.stage} exited by itself: code ${exit.code}, signal ${exit.signal}`);
        }
        record.survived =
          record.restoredAtMs !== null && record.recoveryMs !== null && record.unexpectedExits.length === 0;
        note(
          `fault ${i + 1}/${plan.length} ${faultLabels[planned.kind]} (down ${planned.downtimeMs} ms): ${
            record.survived
              ? `survived, recovered in ${record.recoveryMs} ms`
              : `NOT SURVIVED: ${record.notes.join('; ')}`
          }`,
        );
      }

      /** Injects one fault; resolves when the stage or service is back. */
      async function inject_(kind: FaultKind, downtimeMs: number, record: FaultRecord): Promise<void> {
        const service = services[kind];
        if (service === undefined) {
          const target = stages[kind.replace('kill-', '') as keyof typeof stages];
          await target.kill('SIGKILL');
          await pause(downtimeMs);
          await target.start();
          return;
        }
        const log = path.join(runDir, 'services.log');
        if ((await serviceScript(config, service, 'down', log)) !== 0)
          throw new Error(`${service}.sh down failed; see ${log}`);
        if ((await serviceScript(config, service, 'status', log)) === 0) {
          // `down` leaves alone a service that infra/local did not start: nothing was injected.
          throw new Error(
            `${service} still answers after ${service}.sh down (not started by infra/local?); see ${log}`,
          );
        }
        if (kind === 'restart-registry') {
          // A running stage does not need the registry; a starting one does. Restart the two that
          // look schemas up at start while it is away: they must wait for it, not give up.
          await Promise.all([producer.kill('SIGKILL'), processor.kill('SIGKILL')]);
          producer.spawn();
          processor.spawn();
          record.notes.push('producer and processor SIGKILLed and started again while the registry was down');
        }
        await pause(downtimeMs);
        if ((await serviceScript(config, service, 'up', log)) !== 0)
          throw new Error(`${service}.sh up failed; see ${log}`);
        if (kind === 'restart-registry') await Promise.all([producer.ready(), processor.ready()]);
      }

      // Drain: stop producing (SIGTERM: the producer flushes what it polled), then wait for the
      // processor and the sink to commit everything.
      const producerExit = await producer.kill('SIGTERM');
      const producerSummary = lastJson(producer.stdout);
      note(`producer stopped (code ${producerExit.code}): ${JSON.stringify(producerSummary)}`);
      const admin = kafka.admin();
      await admin.connect();
      ctx.onTestFinished(() => admin.disconnect());
      const committedToEnd = async (groupId: string, topics: string[]) => {
        const behind: string[] = [];
        for (const topic of topics) {
          const end = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          const at = (p: number) =>
            Number(committed?.partitions.find((c) => c.partition === p)?.offset ?? -1);
          for (const e of end) {
            // An empty partition has end offset 0 and no committed offset (-1).
            if (Number(e.high) !== 0 && at(e.partition) !== Number(e.high)) {
              behind.push(`${topic}:${e.partition} at ${at(e.partition)} of ${e.high}`);
            }
          }
        }
        if (behind.length > 0) throw new Error(behind.join(', '));
        return true;
      };
      const drainStarted = Date.now();
      await waitFor(() => committedToEnd(config.processor.groupId, [config.topics.raw]), {
        description: `${tag} the processor to commit the whole raw topic`,
        timeoutMs: 180_000,
        intervalMs: 500,
      });
      await waitFor(
        () =>
          committedToEnd(config.sink.groupId, [config.topics.raw, config.topics.features, config.topics.dlq]),
        {
          description: `${tag} the sink to commit every topic to its end`,
          timeoutMs: 180_000,
          intervalMs: 500,
        },
      );
      note(`drained in ${Date.now() - drainStarted} ms`);

      // Reconciliation.
      const [raw, features, dlq] = await Promise.all([
        readTopic(kafka, config.topics.raw),
        readTopic(kafka, config.topics.features),
        readTopic(kafka, config.topics.dlq),
      ]);
      const expected = expectationsOf(raw, key.publicKey);
      // Slots without an envelope are polls the producer never made or never got acknowledged:
      // each is put down to the fault that had the producer down then (a poll in flight when it
      // was killed is up to two intervals older than the kill; the first poll after the restart
      // can miss its slot by up to one interval). Any others are reported, not failed on: a
      // starved scheduler misses slots too (counted as late or overload by the producer).
      const intervalMs = settings.intervalS * 1000;
      const producerDown = records.filter((r) => r.kind === 'kill-producer' || r.kind === 'restart-registry');
      let unattributedGaps = 0;
      for (const gap of expected.slotGaps) {
        const fault = producerDown.find(
          (r) =>
            gap.slotStartMs >= r.injectedAtMs - 2 * intervalMs &&
            gap.slotStartMs <= (r.restoredAtMs ?? Date.now()) + intervalMs,
        );
        if (fault === undefined) unattributedGaps++;
        else fault.slotsNotProduced++;
      }
      const verdict = await reconcile({ db, database, expected, features, dlq, poison });
      const analyze = spawnSync(process.execPath, [`${repoRoot}/src/cli/main.ts`, 'analyze', '--json'], {
        env,
        encoding: 'utf8',
        timeout: 180_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      const analyzed = lastJson(analyze.stdout) as {
        reconciliation?: Record<string, unknown>;
        problems?: string[];
      };
      if (analyze.status !== 0) {
        verdict.failures.push(
          `amoskys analyze exited ${analyze.status}: ${(analyzed.problems ?? []).join('; ') || analyze.stderr.slice(-1000)}`,
        );
      }
      for (const [name, s] of Object.entries({ processor, sink })) {
        const exit = await s.kill('SIGTERM');
        if (exit.code !== 0)
          verdict.failures.push(`${name} exited ${exit.code} (signal ${exit.signal}) on SIGTERM`);
      }
      const failed = (producerSummary.envelopesFailed as number | undefined) ?? 0;
      if (failed > 0) {
        verdict.failures.push(
          `the producer gave up on ${failed} envelope(s) (polled, never acknowledged by Kafka)`,
        );
      }

      // The table, and the report.
      const rows = summarize(records);
      const table = renderSummary(rows);
      const durationS = Math.round((Date.now() - started) / 1000);
      const reconciled = verdict.failures.length === 0;
      const report = {
        seed: settings.seed,
        mode: settings.mode,
        startedAt: new Date(started).toISOString(),
        durationS,
        devices: devices.length,
        intervalS: settings.intervalS,
        stageStarts: { producer: producer.starts, processor: processor.starts, sink: sink.starts },
        summary: rows,
        faults: records.map((r) => ({
          ...r,
          injectedAt: new Date(r.injectedAtMs).toISOString(),
          unexpectedExits: r.unexpectedExits.map((e) => ({ ...e, tail: e.tail.slice(-500) })),
        })),
        reconciliation: { reconciled, ...verdict.figures, unattributedGaps, failures: verdict.failures },
        producer: producerSummary,
        analyze: { exitCode: analyze.status, reconciliation: analyzed.reconciliation ?? null },
        logs: runDir,
      };
      const file = writeReport(chaosDir, stamp, report);
      process.stderr.write(
        `\n${tag} ${durationS} s, ${devices.length} devices every ${settings.intervalS} s\n${table}` +
          `reconciliation: ${reconciled ? 'nothing lost, nothing duplicated' : 'FAILED'}; ${Object.entries(
            verdict.figures,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}\n` +
          `slots without an envelope while the producer was up: ${unattributedGaps}${unattributedGaps > 0 ? ' (the producer counts them as late or overload)' : ''}\n` +
          `${verdict.failures.map((f) => `  - ${f}\n`).join('')}report: ${file}\n\n`,
      );

      expect(verdict.failures, `${tag} reconciliation (report ${file})`).toEqual([]);
      expect(
        records.filter((r) => !r.survived).map((r) => `${r.index} ${r.kind}: ${r.notes.join('; ')}`),
        `${tag} faults not survived (report ${file})`,
      ).toEqual([]);
      expect(
        exits.map((e) => `${e.stage} code ${e.code}`),
        `${tag} stage exits nobody asked for`,
      ).toEqual([]);
    },
    settings.mode === 'full' ? 3_600_000 : 900_000,
  );
});

/** The JSON document a command printed on stdout (the stages' summaries, analyze --json); {} if none. */
function lastJson(stdout: string): Record<string, unknown> {
  try {
    return JSON.parse(stdout.slice(stdout.indexOf('{')).trim()) as Record<string, unknown>;
  } catch {
    return {};
  }
}
