/**
 * ClickHouse side of the timeline: per-hour counts aggregated by the server (the big part of the
 * data never leaves it), and the poll list of each device within the window only, streamed.
 * Reads `features FINAL` with the window in WHERE rather than `v_features`: 18.16 does not push a
 * view's WHERE into it (docs/analysts.md), and FINAL still shows each idempotency key once.
 * SQL is built with sqlString for the one text value (a device id); 18.16 has no query parameters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlString } from '../../core/clickhouse/index.ts';
import type { DevicePolls, HourCount, PollPoint } from './types.ts';
import type { TimeWindow } from './window.ts';

/** What to read. */
export interface TimelineQuery {
  /** Database holding the `features` table. */
  readonly database: string;
  readonly window: TimeWindow;
  /** One device only. */
  readonly deviceId?: string | undefined;
  /**
   * How far before the window to look for each device's previous poll (to judge its first poll
   * in the window, and to find devices that fell silent), s. @default 86400
   */
  readonly lookbackS?: number;
  /** Called as poll rows stream in, with the count so far. */
  readonly onProgress?: (polls: number) => void;
}

/** The timeline's input as read from ClickHouse. */
export interface TimelineInput {
  readonly devices: DevicePolls[];
  readonly hourCounts: HourCount[];
}

const n = (v: unknown) => Number(v);

function range(column: string, fromS: number, toS: number): string {
  return `${column} >= toDateTime(${Math.max(0, Math.floor(fromS))}) AND ${column} < toDateTime(${Math.floor(toS)})`;
}

/** Reads the polls of the window, the previous poll of each device, and per-hour counts. */
export async function readTimelineInput(
  client: ClickHouseClient,
  query: TimelineQuery,
): Promise<TimelineInput> {
  const { database: db, window } = query;
  const device = query.deviceId === undefined ? '' : ` AND device_id = ${sqlString(query.deviceId)}`;
  const inWindow = `${range('slot_start', window.startS, window.endS)}${device}`;
  const lookbackS = query.lookbackS ?? 86_400;

  const hourRows = await (
    await client.query({
      query: `SELECT device_id, intDiv(toUInt32(slot_start), 3600) * 3600 AS hour_start,
        count() AS polls, countIf(poll_state = 'ok') AS ok
        FROM ${db}.features FINAL WHERE ${inWindow}
        GROUP BY device_id, hour_start ORDER BY device_id, hour_start`,
      format: 'JSONEachRow',
    })
  ).json<{ device_id: string; hour_start: string; polls: string; ok: string }>();
  const hourCounts = hourRows.map((r) => ({
    deviceId: r.device_id,
    hourStartS: n(r.hour_start),
    polls: n(r.polls),
    ok: n(r.ok),
  }));

  const previousRows =
    window.startS <= 0
      ? []
      : await (
          await client.query({
            query: `SELECT device_id, toUInt32(max(slot_start)) AS slot_start_s,
        toString(argMax(observed_at_ns, slot_start)) AS observed_ns,
        argMax(interval_s, slot_start) AS interval_s_last, toString(argMax(poll_state, slot_start)) AS state
        FROM ${db}.features FINAL
        WHERE ${range('slot_start', window.startS - lookbackS, window.startS)}${device}
        GROUP BY device_id`,
            format: 'JSONEachRow',
          })
        ).json<{
          device_id: string;
          slot_start_s: number;
          observed_ns: string;
          interval_s_last: number;
          state: string;
        }>();
  const previous = new Map<string, PollPoint>(
    previousRows.map((r) => [
      r.device_id,
      {
        slotStartS: n(r.slot_start_s),
        observedAtNs: BigInt(r.observed_ns),
        intervalS: n(r.interval_s_last),
        pollState: r.state,
      },
    ]),
  );

  const result = await client.query({
    query: `SELECT device_id, toUInt32(slot_start) AS s, toString(observed_at_ns) AS o, interval_s AS i,
      toString(poll_state) AS st
      FROM ${db}.features FINAL WHERE ${inWindow} ORDER BY device_id, slot_start`,
    format: 'JSONEachRow',
  });
  const byDevice = new Map<string, PollPoint[]>();
  let count = 0;
  for await (const chunk of result.stream<{
    device_id: string;
    s: number;
    o: string;
    i: number;
    st: string;
  }>()) {
    for (const row of chunk) {
      const r = row.json();
      let polls = byDevice.get(r.device_id);
      if (polls === undefined) {
        polls = [];
        byDevice.set(r.device_id, polls);
      }
      polls.push({ slotStartS: n(r.s), observedAtNs: BigInt(r.o), intervalS: n(r.i), pollState: r.st });
      count++;
    }
    query.onProgress?.(count);
  }

  const ids = new Set([...byDevice.keys(), ...previous.keys()]);
  const devices = [...ids].map((deviceId) => ({
    deviceId,
    polls: byDevice.get(deviceId) ?? [],
    previous: previous.get(deviceId),
  }));
  return { devices, hourCounts };
}
