/**
 * Assertions shared by the fuzz tests: what every validation result must look like, what an
 * accepted message guarantees, and whether a changed envelope still carries the signed bytes it
 * was made with. Written without the scanner and decoder under test where they judge them.
 */
import { expect } from 'vitest';
import { trustedKey } from '../../../src/core/crypto/index.ts';
import { scanFields } from '../../../src/core/envelope/index.ts';
import { idempotencyKey, PollState } from '../../../src/core/telemetry/index.ts';
import type { AcceptedMessage, ValidateResult } from '../../../src/processors/telemetry/validate.ts';
import {
  type Base,
  freshnessWindowMs,
  maxFutureSkewMs,
  nowNs,
  rejectReasons,
  schemaId,
  trust,
  uint32Max,
  uint64Max,
} from './arbitraries.ts';

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/**
 * Whether `payload` is the base's signed bytes with the base's signature field at a top-level field
 * boundary: the one change that leaves the signed bytes as they were (field 15 is not part of them
 * and may sit anywhere among the top-level fields). Compared byte by byte.
 */
export function onlySignatureMoved(payload: Uint8Array, base: Base): boolean {
  const u = base.signingInput;
  if (payload.length !== u.length + base.signatureField.length) return false;
  const scan = scanFields(u);
  if (!scan.ok) throw new Error(`base ${base.name} does not scan`);
  const boundaries = [0, ...scan.fields.map((f) => f.end)];
  return boundaries.some(
    (i) =>
      equalBytes(payload.subarray(0, i), u.subarray(0, i)) &&
      equalBytes(payload.subarray(i, i + 66), base.signatureField) &&
      equalBytes(payload.subarray(i + 66), u.subarray(i)),
  );
}

/** Reads one varint of at most 5 bytes (the frame header's limit); undefined when there is none. */
function headerVarint(bytes: Uint8Array, offset: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, next: offset + i + 1 };
  }
  return undefined;
}

/**
 * The length of the frame header when `value` starts with magic byte 0, the test schema id and a
 * message-index array meaning [0] in any spelling (count 0, or count 1 with index 0); undefined
 * otherwise.
 */
export function envelopeFrameLength(value: Uint8Array): number | undefined {
  if (value.length < 6 || value[0] !== 0) return undefined;
  if (Buffer.from(value).readUInt32BE(1) !== schemaId) return undefined;
  const count = headerVarint(value, 5);
  if (count === undefined) return undefined;
  if (count.value === 0) return count.next;
  if (count.value !== 2) return undefined; // zigzag 2 = one index
  const index = headerVarint(value, count.next);
  return index?.value === 0 ? index.next : undefined;
}

/**
 * What every validation result must look like: accepted, or one reason of the closed list with
 * words for people, never the last-resort catch of validateMessage.
 */
export function checkResult(result: ValidateResult): void {
  if (result.ok) {
    checkAccepted(result);
    return;
  }
  expect(rejectReasons).toContain(result.reason);
  expect(typeof result.detail).toBe('string');
  expect(result.detail.length).toBeGreaterThan(0);
  expect(result.detail.length).toBeLessThanOrEqual(500);
  expect(result.detail, 'answered by the last-resort catch').not.toMatch(/^validator error/);
}

/** What an accepted message guarantees to the flattener and the sink. */
export function checkAccepted(result: AcceptedMessage): void {
  const { poll } = result;
  expect(result.schemaId).toBe(schemaId);
  expect(result.deviceId).toBe(poll.deviceId);
  expect(result.metricsCount).toBe(poll.metrics.length);
  expect(Number.isSafeInteger(poll.intervalS) && poll.intervalS >= 1, `interval ${poll.intervalS}`).toBe(
    true,
  );
  expect(result.idempotencyKey).toBe(idempotencyKey(poll));
  expect(result.slotStartNs).toBe(poll.slotStartNs);
  expect(poll.slotStartNs).toBe(poll.slot * BigInt(poll.intervalS) * 1_000_000_000n);
  // Fresh, signed by a key bound to the device.
  expect(result.envelopeTsNs >= nowNs - BigInt(freshnessWindowMs) * 1_000_000n).toBe(true);
  expect(result.envelopeTsNs <= nowNs + BigInt(maxFutureSkewMs) * 1_000_000n).toBe(true);
  expect(poll.deviceId).not.toBe('');
  expect(trustedKey(trust, result.signingKeyId)?.devices).toContain(poll.deviceId);
  expect(Object.values(PollState)).toContain(poll.status.state);
  for (const m of poll.metrics) {
    expect(m.name).not.toBe('');
    const v = m.value;
    if (v.kind === 'numeric') expect(Number.isFinite(v.value), `${m.name} = ${v.value}`).toBe(true);
    if (v.kind === 'counter') {
      expect(v.value >= 0n && v.value <= (v.bits === 32 ? BigInt(uint32Max) : uint64Max)).toBe(true);
    }
  }
}
