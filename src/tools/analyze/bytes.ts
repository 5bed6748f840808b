/**
 * Bytes collected vs bytes stored, per envelope: the check that would have caught the original
 * failure (1,165 bytes of SNMP collected per poll, a 162-byte heartbeat stored: ratio 0.14).
 * Collected is `features.poll_bytes_collected` (the SNMP responses, as the producer counted them);
 * stored is `length(raw_envelopes.bytes)` (the archived message value) plus the envelope's rows in
 * `metrics`. An envelope carries every value with its name, OID, unit and labels, so it is normally
 * larger than the BER-encoded responses; far smaller means values were dropped on the way.
 *
 * Alarms per envelope:
 * - low_ratio: collected > 0 and stored / collected < `minRatio`;
 * - no_metrics: the poll answered (`ok` or `partial`) and no metric row is stored;
 * - metrics_lost: fewer metric rows than `raw_envelopes.metric_count` says the envelope carried.
 */
import {
  type BytesAlarm,
  BytesAlarmKind,
  type BytesReport,
  type DeviceBytes,
  type EnvelopeSizes,
} from './types.ts';

/** Default threshold of the low-ratio alarm: stored bytes under half the collected ones. */
export const DEFAULT_MIN_STORED_RATIO = 0.5;

/** The alarms one envelope raises (empty when it is fine). */
export function envelopeAlarms(e: EnvelopeSizes, minRatio: number): BytesAlarmKind[] {
  const kinds: BytesAlarmKind[] = [];
  if (e.collectedBytes > 0 && e.storedBytes !== null && e.storedBytes / e.collectedBytes < minRatio) {
    kinds.push(BytesAlarmKind.LowRatio);
  }
  if ((e.pollState === 'ok' || e.pollState === 'partial') && e.metricRows === 0) {
    kinds.push(BytesAlarmKind.NoMetrics);
  } else if (e.metricCount !== null && e.metricRows < e.metricCount) {
    kinds.push(BytesAlarmKind.MetricsLost);
  }
  return kinds;
}

/** Per-envelope checks and per-device sums over the stored envelopes of the window. */
export function analyzeBytes(
  envelopes: Iterable<EnvelopeSizes>,
  minRatio = DEFAULT_MIN_STORED_RATIO,
  sampleSize = 20,
): BytesReport {
  interface Acc {
    envelopes: number;
    collectedBytes: number;
    storedBytes: number;
    metricRows: number;
    /** Sums over envelopes with both sizes, for the ratio. */
    ratioCollected: number;
    ratioStored: number;
    minRatio: number | null;
    alarms: number;
  }
  const devices = new Map<string, Acc>();
  const alarmsByKind: Record<BytesAlarmKind, number> = { low_ratio: 0, no_metrics: 0, metrics_lost: 0 };
  const sample: BytesAlarm[] = [];
  let alarms = 0;
  for (const e of envelopes) {
    let d = devices.get(e.deviceId);
    if (d === undefined) {
      d = {
        envelopes: 0,
        collectedBytes: 0,
        storedBytes: 0,
        metricRows: 0,
        ratioCollected: 0,
        ratioStored: 0,
        minRatio: null,
        alarms: 0,
      };
      devices.set(e.deviceId, d);
    }
    d.envelopes++;
    d.collectedBytes += e.collectedBytes;
    d.storedBytes += e.storedBytes ?? 0;
    d.metricRows += e.metricRows;
    if (e.collectedBytes > 0 && e.storedBytes !== null) {
      const r = e.storedBytes / e.collectedBytes;
      d.ratioCollected += e.collectedBytes;
      d.ratioStored += e.storedBytes;
      d.minRatio = d.minRatio === null ? r : Math.min(d.minRatio, r);
    }
    const kinds = envelopeAlarms(e, minRatio);
    if (kinds.length > 0) {
      alarms++;
      d.alarms++;
    }
    for (const kind of kinds) {
      alarmsByKind[kind]++;
      if (sample.length < sampleSize) {
        sample.push({
          kind,
          idempotencyKey: e.idempotencyKey,
          deviceId: e.deviceId,
          collectedBytes: e.collectedBytes,
          storedBytes: e.storedBytes,
          metricCount: e.metricCount,
          metricRows: e.metricRows,
        });
      }
    }
  }
  const rows: DeviceBytes[] = [...devices.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([deviceId, d]) => ({
      deviceId,
      envelopes: d.envelopes,
      collectedBytes: d.collectedBytes,
      storedBytes: d.storedBytes,
      metricRows: d.metricRows,
      ratio: d.ratioCollected === 0 ? null : d.ratioStored / d.ratioCollected,
      minRatio: d.minRatio,
      alarms: d.alarms,
    }));
  const sum = (f: (d: DeviceBytes) => number) => rows.reduce((s, d) => s + f(d), 0);
  const ratioCollected = [...devices.values()].reduce((s, d) => s + d.ratioCollected, 0);
  const ratioStored = [...devices.values()].reduce((s, d) => s + d.ratioStored, 0);
  return {
    minRatio,
    envelopes: sum((d) => d.envelopes),
    collectedBytes: sum((d) => d.collectedBytes),
    storedBytes: sum((d) => d.storedBytes),
    metricRows: sum((d) => d.metricRows),
    ratio: ratioCollected === 0 ? null : ratioStored / ratioCollected,
    alarms,
    alarmsByKind,
    devices: rows,
    alarmSample: sample,
  };
}
