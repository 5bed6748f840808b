import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { frame } from '../../../src/core/registry/index.ts';
import {
  analyzeBytes,
  analyzeCompleteness,
  COMPLETENESS_FEATURES,
  type EnvelopeSizes,
  envelopeAlarms,
  idempotencyKeyOf,
  MessageFate,
  parseIdempotencyKey,
  Reconciler,
  reconcile,
  renderAnalyzeText,
  type TopicMessage,
  withVerdict,
} from '../../../src/tools/analyze/index.ts';
import { ALL_TIME } from '../../../src/tools/timeline/index.ts';

const T10 = 1_704_103_200; // 2024-01-01T10:00:00Z, slot 28401720 of 60 s
const key = (device: string, minute: number) => `${device}/60/${T10 / 60 + minute}`;

let nextOffset = 0n;
function msg(idempotencyKey: string | null, extra: Partial<TopicMessage> = {}): TopicMessage {
  return {
    partition: 0,
    offset: nextOffset++,
    kafkaKey: idempotencyKey?.split('/')[0] ?? 'd9',
    idempotencyKey,
    timestampMs: (T10 + 5) * 1000,
    ...extra,
  };
}

describe('idempotency keys', () => {
  it('parses <device>/<interval>/<slot>, device ids with slashes included', () => {
    expect(parseIdempotencyKey('router-1/60/28401720')).toEqual({
      deviceId: 'router-1',
      intervalS: 60,
      slot: 28_401_720n,
      slotStartS: T10,
    });
    expect(parseIdempotencyKey('site/a/router/10/1')?.deviceId).toBe('site/a/router');
    expect(parseIdempotencyKey('nonsense')).toBeNull();
    expect(parseIdempotencyKey('/60/1')).toBeNull();
  });

  it('reads the key from a framed golden envelope without decoding it, and refuses what is not one', () => {
    const envelope = readFileSync(`${repoRoot}/test/fixtures/envelopes/snmp-ok.bin`);
    const json = JSON.parse(readFileSync(`${repoRoot}/test/fixtures/envelopes/snmp-ok.json`, 'utf8'));
    expect(idempotencyKeyOf(frame(7, [0], envelope))).toBe(json.envelope.header.idempotencyKey);
    expect(idempotencyKeyOf(envelope)).toBeNull(); // not framed: the first byte is a tag, not magic 0
    expect(idempotencyKeyOf(null)).toBeNull();
    expect(idempotencyKeyOf(frame(7, [0], Uint8Array.of(0x1a, 0x05, 0x61)))).toBeNull(); // truncated
    expect(idempotencyKeyOf(frame(7, [0], Uint8Array.of(0x1a, 0x02, 0xc3, 0x28)))).toBeNull(); // bad UTF-8
    // The last occurrence wins, as in a protobuf decoder.
    expect(idempotencyKeyOf(frame(7, [0], Uint8Array.of(0x1a, 0x01, 0x61, 0x1a, 0x01, 0x62)))).toBe('b');
  });
});

describe('reconciliation', () => {
  const stored = (keys: string[], rawOnly: string[] = [], featuresOnly: string[] = []) => ({
    featureKeys: new Set([...keys, ...featuresOnly]),
    rawKeys: new Set([...keys, ...rawOnly]),
  });

  it('gives every message one fate and reconciles when none is missing', () => {
    nextOffset = 0n;
    const messages = [
      msg(key('d1', 0)), // 0 stored
      msg(key('d1', 1)), // 1 stored
      msg(key('d1', 1)), // 2 duplicate of 1
      msg(key('d1', 2)), // 3 rejected (bad signature), then 4 accepted: stored
      msg(key('d1', 2)), // 4
      msg(null), // 5 undecodable, dead-lettered
      msg(key('d2', 0)), // 6 stale replay of a key stored earlier in retention: rejected
    ];
    const r = reconcile(
      messages,
      {
        ...stored([key('d1', 0), key('d1', 1), key('d1', 2), key('d2', 0)]),
        deadLetters: [
          { partition: 0, offset: 3n, reason: 'bad_signature' },
          { partition: 0, offset: 5n, reason: 'undecodable' },
          { partition: 0, offset: 6n, reason: 'stale' },
        ],
      },
      ALL_TIME,
    );
    expect(r).toMatchObject({
      produced: 7,
      stored: 3,
      rejected: 3,
      duplicates: 1,
      partial: 0,
      missing: 0,
      notOnTopic: 0,
      reconciled: true,
      rejectedByReason: { bad_signature: 1, undecodable: 1, stale: 1 },
    });
    expect(r.produced).toBe(r.stored + r.rejected + r.duplicates);
    expect(r.devices.map((d) => [d.deviceId, d.produced, d.stored, d.rejected, d.duplicates])).toEqual([
      ['d1', 5, 3, 1, 1],
      ['d2', 1, 0, 1, 0],
      ['d9', 1, 0, 1, 0],
    ]);
  });

  it('a message with no row and no dead letter is missing; one table only is partial', () => {
    nextOffset = 0n;
    const r = reconcile(
      [msg(key('d1', 0)), msg(key('d1', 1)), msg(key('d1', 2)), msg(key('d1', 3)), msg(null)],
      { ...stored([key('d1', 0)], [key('d1', 2)], [key('d1', 3)]), deadLetters: [] },
      ALL_TIME,
    );
    expect(r).toMatchObject({ produced: 5, stored: 1, missing: 2, partial: 2, reconciled: false });
    expect(r.lost.map((l) => [l.offset, l.fate, l.detail])).toEqual([
      ['1', 'missing', 'in neither table, no dead letter'],
      ['2', 'partial', 'in raw_envelopes only'],
      ['3', 'partial', 'in features only'],
      ['4', 'missing', 'no readable key, no dead letter'],
    ]);
  });

  it('a duplicate of a message that was never stored is missing, not a duplicate', () => {
    nextOffset = 0n;
    const r = reconcile([msg(key('d1', 0)), msg(key('d1', 0))], { ...stored([]), deadLetters: [] }, ALL_TIME);
    expect([r.duplicates, r.missing]).toEqual([0, 2]);
  });

  it('selects messages by slot (by timestamp without a key) and reports stored keys not on the topic', () => {
    nextOffset = 0n;
    const window = { startS: T10 + 60, endS: T10 + 180 };
    const r = new Reconciler(
      { ...stored([key('d1', 1), key('d1', 2), key('old', 1)], [key('old', 2)]), deadLetters: [] },
      window,
      1,
    );
    expect(r.add(msg(key('d1', 0)))).toBeNull(); // slot 10:00: before the window
    expect(r.add(msg(key('d1', 1), { timestampMs: 0 }))).toBe(MessageFate.Stored); // timestamp ignored
    expect(r.add(msg(key('d1', 2)))).toBe(MessageFate.Stored);
    expect(r.add(msg(key('d1', 3)))).toBeNull();
    expect(r.add(msg(null, { timestampMs: (T10 + 61) * 1000 }))).toBe(MessageFate.Missing);
    expect(r.add(msg(null, { timestampMs: (T10 + 5) * 1000 }))).toBeNull();
    const result = r.result();
    expect(result).toMatchObject({ produced: 3, stored: 2, missing: 1, outsideWindow: 3, notOnTopic: 2 });
    expect(result.notOnTopicKeys).toHaveLength(1); // sample size 1
    expect(result.devices.find((d) => d.deviceId === 'old')?.notOnTopic).toBe(2);
    // result() does not change the running counts.
    expect(r.result().notOnTopic).toBe(2);
  });
});

describe('bytes collected vs stored', () => {
  const envelope = (over: Partial<EnvelopeSizes>): EnvelopeSizes => ({
    idempotencyKey: key('d1', 0),
    deviceId: 'd1',
    pollState: 'ok',
    collectedBytes: 1165,
    storedBytes: 3000,
    metricCount: 29,
    metricRows: 29,
    ...over,
  });

  it('alarms on the original failure: 1,165 bytes collected, a 162-byte heartbeat stored, no metrics', () => {
    expect(envelopeAlarms(envelope({ storedBytes: 162, metricCount: 0, metricRows: 0 }), 0.5)).toEqual([
      'low_ratio',
      'no_metrics',
    ]);
    expect(envelopeAlarms(envelope({}), 0.5)).toEqual([]);
    expect(envelopeAlarms(envelope({ metricRows: 20 }), 0.5)).toEqual(['metrics_lost']);
    // An unreachable poll collected nothing and carries no metrics: no alarm.
    expect(
      envelopeAlarms(
        envelope({
          pollState: 'unreachable',
          collectedBytes: 0,
          storedBytes: 200,
          metricCount: 0,
          metricRows: 0,
        }),
        0.5,
      ),
    ).toEqual([]);
    // The threshold is the operator's.
    expect(envelopeAlarms(envelope({ storedBytes: 1000 }), 0.9)).toEqual(['low_ratio']);
  });

  it('sums per device and samples the alarms', () => {
    const report = analyzeBytes(
      [
        envelope({}),
        envelope({ idempotencyKey: key('d1', 1), storedBytes: 162, metricCount: 0, metricRows: 0 }),
        envelope({
          deviceId: 'd2',
          idempotencyKey: key('d2', 0),
          collectedBytes: 0,
          pollState: 'unreachable',
        }),
      ],
      0.5,
      1,
    );
    expect(report).toMatchObject({
      envelopes: 3,
      collectedBytes: 2330,
      storedBytes: 6162,
      alarms: 1,
      alarmsByKind: { low_ratio: 1, no_metrics: 1, metrics_lost: 0 },
    });
    expect(report.alarmSample).toHaveLength(1);
    expect(report.devices[0]).toMatchObject({
      deviceId: 'd1',
      alarms: 1,
      ratio: 3162 / 2330,
      minRatio: 162 / 1165,
    });
    expect(report.devices[1]).toMatchObject({ deviceId: 'd2', ratio: null, minRatio: null });
  });
});

describe('metric completeness', () => {
  it('measures the 29 named features (no rates) over answered polls', () => {
    expect(COMPLETENESS_FEATURES).toHaveLength(29);
    expect(COMPLETENESS_FEATURES.some((f) => f.endsWith('_per_second'))).toBe(false);
    const all = Object.fromEntries(COMPLETENESS_FEATURES.map((f) => [f, 10]));
    const [full, gappy, silent] = analyzeCompleteness([
      { deviceId: 'b', polls: 12, answered: 10, present: { ...all, sys_contact: 0, sys_location: 5 } },
      { deviceId: 'a', polls: 12, answered: 10, present: all },
      { deviceId: 'c', polls: 3, answered: 0, present: {} },
    ]);
    expect(full).toMatchObject({ deviceId: 'a', completeness: 1, missing: [], sparse: [] });
    expect(gappy).toMatchObject({
      deviceId: 'b',
      missing: ['sys_contact'],
      sparse: [{ name: 'sys_location', share: 0.5 }],
    });
    expect(gappy?.completeness).toBeCloseTo(27.5 / 29);
    expect(silent).toMatchObject({ completeness: null, missing: [] });
  });
});

describe('verdict and text', () => {
  const parts = (missing: number) => ({
    window: ALL_TIME,
    rawTopic: 'amoskys.telemetry.raw.v1',
    database: 'amoskys',
    deviceId: null,
    partitions: [{ partition: 0, start: '0', end: '10' }],
    reconciliation: {
      produced: 10,
      stored: 10 - missing,
      rejected: 0,
      duplicates: 0,
      partial: 0,
      missing,
      notOnTopic: 0,
      reconciled: missing === 0,
      rejectedByReason: {},
      outsideWindow: 0,
      devices: [],
      lost: [],
      notOnTopicKeys: [],
    },
    bytes: analyzeBytes([]),
    completeness: [],
    metricNames: [{ name: 'sys_uptime', rows: 10, devices: 1, envelopes: 10 }],
  });

  it('exits 0 when reconciled without alarms, 1 on loss or an alarm', () => {
    expect(withVerdict(parts(0))).toMatchObject({ exitCode: 0, problems: [] });
    const lost = withVerdict(parts(2));
    expect(lost.exitCode).toBe(1);
    expect(lost.problems[0]).toMatch(/^2 message\(s\) on the topic are neither stored nor dead-lettered/);
    const alarmed = withVerdict({
      ...parts(0),
      bytes: analyzeBytes([
        {
          idempotencyKey: 'd/60/1',
          deviceId: 'd',
          pollState: 'ok',
          collectedBytes: 1165,
          storedBytes: 162,
          metricCount: 0,
          metricRows: 0,
        },
      ]),
    });
    expect(alarmed.exitCode).toBe(1);
    expect(alarmed.problems).toEqual([
      '1 stored envelope(s) raise a bytes alarm (low_ratio 1, no_metrics 1)',
    ]);
  });

  it('renders a reconciled report and a failed one', () => {
    const ok = renderAnalyzeText(withVerdict(parts(0)), 29);
    expect(ok).toContain('produced 10 = stored 10 + rejected 0 + duplicates 0   reconciled');
    expect(ok).toContain('RESULT: reconciled, no alarm (exit 0)');
    expect(ok).toMatch(/sys_uptime\s+10\s+1\s+10/);
    const failed = renderAnalyzeText(withVerdict(parts(3)), 29);
    expect(failed).toContain('NOT RECONCILED: missing 3, partial 0');
    expect(failed).toContain('RESULT: FAILED (exit 1)');
  });
});
