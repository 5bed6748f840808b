/**
 * What a decoded envelope must hold to be a poll of the contract, beyond what decoding checks:
 * the values the producer can send and the stages can store. One definition for the processor
 * (which dead-letters a breach as `invalid_values`) and the ClickHouse sink (which archives only
 * envelopes within it), so the two never disagree on it. Pure.
 */
import type { DevicePoll } from '../telemetry/index.ts';
import { ENVELOPE_VERSION, toDevicePoll } from './codec.ts';
import type { DecodedEnvelope } from './types.ts';

const uint32Max = 0xffff_ffffn;
/** Strings from the message are cut to this many characters in a detail. */
const maxQuotedChars = 64;

function quote(text: string): string {
  return JSON.stringify(text.length > maxQuotedChars ? `${text.slice(0, maxQuotedChars)}…` : text);
}

/** Result of {@link checkContract}. */
export type ContractResult = { ok: true; poll: DevicePoll } | { ok: false; detail: string };

/**
 * Checks a decoded (and, by the caller, verified) envelope against the contract and returns the
 * poll it carries, or words for people saying what breaks it.
 */
export function checkContract(env: DecodedEnvelope): ContractResult {
  const fail = (detail: string): ContractResult => ({ ok: false, detail });
  if (env.header.envelopeVersion !== ENVELOPE_VERSION) {
    return fail(`envelope_version ${env.header.envelopeVersion}; this reader reads ${ENVELOPE_VERSION}`);
  }
  const t = env.telemetry;
  if (t === undefined) return fail('no device_telemetry payload');
  if (t.deviceId === '') return fail('empty device_id');
  for (const [i, m] of t.metrics.entries()) {
    if (m.name === '') return fail(`metric ${i} has an empty name`);
    const v = m.value;
    if (v.kind === 'numeric' && !Number.isFinite(v.value)) {
      return fail(`metric ${quote(m.name)} has the non-finite value ${v.value}`);
    }
    if (v.kind === 'counter' && v.bits === 32 && v.value > uint32Max) {
      return fail(`metric ${quote(m.name)}: 32-bit counter holds ${v.value}, above 2^32-1`);
    }
  }
  const polled = toDevicePoll(env);
  if (!polled.ok) return fail(polled.detail);
  const { poll } = polled;
  // Above 2^32-1 the feature row's uint32 interval_s cannot hold it: flattening would throw.
  if (!Number.isSafeInteger(poll.intervalS) || poll.intervalS < 1 || poll.intervalS > 0xffff_ffff) {
    return fail(`interval ${poll.intervalS} s in the idempotency key`);
  }
  // Decoded as a number, exact below 2^53 only; the feature row refuses an inexact one.
  if (!Number.isSafeInteger(poll.status.bytesCollected)) {
    return fail(`bytes_collected ${poll.status.bytesCollected} is not below 2^53`);
  }
  // The key names the slot; the payload must describe that slot, or two different polls could
  // share a key (and deduplication would drop one).
  const expectedSlotStartNs = poll.slot * BigInt(poll.intervalS) * 1_000_000_000n;
  if (poll.slotStartNs !== expectedSlotStartNs) {
    return fail(
      `slot start ${poll.slotStartNs} ns is not slot ${poll.slot} × ${poll.intervalS} s of the idempotency key`,
    );
  }
  return { ok: true, poll };
}
