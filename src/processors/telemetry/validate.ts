/**
 * Validation of one raw-topic message: framing, schema id, signature over the bytes as received,
 * trust (key known, valid, not revoked, bound to the device), freshness and values. Pure: bytes
 * + a context in, an accepted poll or a reject reason out. Never throws for any message bytes, so
 * a poison pill becomes a dead letter instead of a crash loop.
 *
 * Checks run cheapest first, and in an order that makes every reason reachable and truthful:
 *
 *   oversize -> wrong_magic / undecodable (framing) -> unknown_schema_id -> undecodable (protobuf)
 *   -> unknown_key / revoked_key / key_not_bound -> bad_signature -> stale / future -> invalid_values
 *
 * Everything before `bad_signature` is a claim of the sender; only from `stale` on are the values
 * known to come from the key's holder. docs/processor.md ("Rejects") lists every reason.
 */
import {
  createNodeVerifier,
  keyIsBound,
  type TrustedKey,
  type TrustSnapshot,
  trustedKey,
  type Verifier,
} from '../../core/crypto/index.ts';
import {
  checkContract,
  type DecodedEnvelope,
  decodeEnvelope,
  EnvelopeFailure,
  envelopeSchema,
  scanFields,
  splitSignature,
  WireType,
} from '../../core/envelope/index.ts';
import { MAGIC_BYTE, UnframeFailure, unframe } from '../../core/registry/index.ts';
import type { DevicePoll } from '../../core/telemetry/index.ts';
import { DlqHeader, RejectReason } from './types.ts';

/** What {@link validateMessage} checks a message against. */
export interface ValidateContext {
  /** The trust store in force (a snapshot; see TrustStoreWatcher). */
  trust: TrustSnapshot;
  /** Processing time, ns since the epoch: freshness and revocation are judged against it. */
  nowNs: bigint;
  /**
   * Envelopes whose `ts_ns` is older than `nowNs` minus this are `stale`, ms. Must be shorter than
   * the deduplication retention, so that a replay after its key was forgotten is still refused.
   */
  freshnessWindowMs: number;
  /** Envelopes whose `ts_ns` is later than `nowNs` plus this are `future`, ms. */
  maxFutureSkewMs: number;
  /** Larger values (framing included) are `oversize`, bytes. */
  maxMessageBytes: number;
  /**
   * Whether a schema id is one of the raw topic's registered value schemas. Synchronous and
   * non-throwing: resolve ids the cache does not know against the registry before calling (an
   * exception propagates; it is not turned into a reject, since a registry outage must not
   * dead-letter valid messages).
   */
  isKnownSchemaId: (schemaId: number) => boolean;
  /** @default the node:crypto verifier (docs/security.md pins it) */
  verifier?: Verifier;
}

/** A message that passed every check. */
export interface AcceptedMessage {
  ok: true;
  /** `<device_id>/<interval_s>/<slot>`: what deduplication keys on. */
  idempotencyKey: string;
  deviceId: string;
  signingKeyId: string;
  /** Schema id of the Confluent frame. */
  schemaId: number;
  /** The envelope's `ts_ns`: when the producer built it, ns since the epoch. */
  envelopeTsNs: bigint;
  /** Start of the poll slot, ns since the epoch. */
  slotStartNs: bigint;
  /** The poll the envelope was built from (metrics, status). */
  poll: DevicePoll;
  /** `poll.metrics.length`. */
  metricsCount: number;
}

/** A message to dead-letter. */
export interface RejectedMessage {
  ok: false;
  reason: RejectReason;
  /** Words for people: what was wrong and where. At most 500 characters; strings from the message are quoted and cut. */
  detail: string;
  /**
   * `device_id` as the message states it, when it could be read. Only for `stale`, `future` and
   * `invalid_values` is it known to be signed by a key bound to the device; before that it is a claim.
   */
  deviceId?: string;
  /** `signing_key_id` as the message states it, when it could be read. */
  signingKeyId?: string;
  /** `idempotency_key` as the message states it, when it could be read. */
  idempotencyKey?: string;
}

/** Result of {@link validateMessage}. */
export type ValidateResult = AcceptedMessage | RejectedMessage;

const defaultVerifier = createNodeVerifier();
const nsPerMs = 1_000_000n;
/** Strings from the message are cut to this many characters in `detail`. */
const maxQuotedChars = 64;
/** `detail` is cut to this many characters. */
const maxDetailChars = 500;

/** A string from the message, quoted and cut, for `detail`. */
function quote(text: string): string {
  return JSON.stringify(text.length > maxQuotedChars ? `${text.slice(0, maxQuotedChars)}…` : text);
}

function msToNs(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * nsPerMs;
}

function isoOfMs(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

function isoOfNs(ns: bigint): string {
  return isoOfMs(Number(ns / nsPerMs));
}

function checkContext(ctx: ValidateContext): void {
  for (const name of ['freshnessWindowMs', 'maxFutureSkewMs', 'maxMessageBytes'] as const) {
    const value = ctx[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`ValidateContext.${name} must be a finite number >= 0, got ${String(value)}`);
    }
  }
  if (typeof ctx.nowNs !== 'bigint') throw new RangeError('ValidateContext.nowNs must be a bigint');
}

function sameIndexes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const utf8 = new TextDecoder('utf-8');

/** Unsigned varint as an exact bigint (uint64 fields such as `ts_ns` exceed 2^53). */
function readVarintBig(bytes: Uint8Array, offset: number): bigint | undefined {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return value & 0xffff_ffff_ffff_ffffn;
  }
  return undefined;
}

/**
 * `ts_ns` and `device_telemetry.device_id` read straight from the wire, for an envelope whose
 * decode failed on a value (so that trust, signature and freshness are still checked before it is
 * called `invalid_values`). Last occurrence wins, as in protobuf parsers.
 */
function peekHeader(payload: Uint8Array): { tsNs: bigint; deviceId: string | undefined } {
  let tsNs = 0n;
  let deviceId: string | undefined;
  const top = scanFields(payload);
  if (!top.ok) return { tsNs, deviceId };
  for (const field of top.fields) {
    if (field.fieldNumber === 2 && field.wireType === WireType.Varint) {
      tsNs = readVarintBig(payload, field.valueStart) ?? 0n;
    } else if (field.fieldNumber === 5 && field.wireType === WireType.LengthDelimited) {
      const inner = payload.subarray(field.valueStart, field.end);
      const scan = scanFields(inner);
      if (!scan.ok) continue;
      for (const f of scan.fields) {
        if (f.fieldNumber === 1 && f.wireType === WireType.LengthDelimited) {
          deviceId = utf8.decode(inner.subarray(f.valueStart, f.end));
        }
      }
    }
  }
  return { tsNs, deviceId };
}

type Reject = (reason: RejectReason, detail: string) => RejectedMessage;

/**
 * Validates one message value of the raw topic. Never throws for any bytes (only for an invalid
 * `ctx`, a programming error, or when `ctx.isKnownSchemaId` throws).
 * @param value the Kafka record value; `null` (a tombstone) is `undecodable`
 */
export function validateMessage(value: Uint8Array | null, ctx: ValidateContext): ValidateResult {
  checkContext(ctx);
  if (value === null || value === undefined) {
    return { ok: false, reason: RejectReason.Undecodable, detail: 'no value (tombstone)' };
  }
  if (value.length > ctx.maxMessageBytes) {
    return {
      ok: false,
      reason: RejectReason.Oversize,
      detail: `${value.length} bytes; the limit is ${ctx.maxMessageBytes}`,
    };
  }
  if (value.length === 0) return { ok: false, reason: RejectReason.Undecodable, detail: 'empty value' };
  // Checked before the length: a short value that does not start with 0 is not in the wire format
  // at all (JSON, a bare protobuf), which says more than "truncated".
  if (value[0] !== MAGIC_BYTE) {
    return {
      ok: false,
      reason: RejectReason.WrongMagic,
      detail: `first byte is 0x${(value[0] as number).toString(16).padStart(2, '0')}, not the Confluent magic byte 0x00`,
    };
  }
  const framed = unframe(value);
  if (!framed.ok) {
    return {
      ok: false,
      reason:
        framed.reason === UnframeFailure.WrongMagic ? RejectReason.WrongMagic : RejectReason.Undecodable,
      detail: `${framed.reason}: ${framed.detail}`,
    };
  }
  if (!ctx.isKnownSchemaId(framed.schemaId)) {
    return {
      ok: false,
      reason: RejectReason.UnknownSchemaId,
      detail: `schema id ${framed.schemaId} is not a value schema of the raw topic`,
    };
  }
  try {
    const result = validateEnvelope(framed.payload, framed.messageIndexes, framed.schemaId, ctx);
    // Details quote the message (keys, ids); a hostile one must not make a dead letter's headers huge.
    if (!result.ok && result.detail.length > maxDetailChars) {
      result.detail = `${result.detail.slice(0, maxDetailChars - 1)}…`;
    }
    return result;
  } catch (err) {
    // validateEnvelope is written not to throw; this is the last line that keeps a message the
    // code did not foresee from crash-looping the consumer (the fuzz tests check it is not needed).
    return {
      ok: false,
      reason: RejectReason.Undecodable,
      detail: `validator error: ${err instanceof Error ? err.message : String(err)}`.slice(0, maxDetailChars),
    };
  }
}

function validateEnvelope(
  payload: Uint8Array,
  messageIndexes: readonly number[],
  schemaId: number,
  ctx: ValidateContext,
): ValidateResult {
  if (!sameIndexes(messageIndexes, envelopeSchema.messageIndexes)) {
    return {
      ok: false,
      reason: RejectReason.Undecodable,
      detail: `message indexes [${messageIndexes.join(', ')}] do not name ${envelopeSchema.message} [${envelopeSchema.messageIndexes.join(', ')}]`,
    };
  }

  const split = splitSignature(payload);
  if (!split.ok) {
    let reason: RejectReason = RejectReason.Undecodable;
    // The protobuf is well formed but the signature is absent or not 64 bytes in the one
    // canonical spelling: the message is unsigned, which is what bad_signature tells an operator.
    if (
      split.reason === EnvelopeFailure.SignatureMissing ||
      split.reason === EnvelopeFailure.SignatureDuplicated ||
      split.reason === EnvelopeFailure.SignatureMalformed
    ) {
      reason = RejectReason.BadSignature;
    } else if (split.reason === EnvelopeFailure.KeyIdMissing) {
      reason = RejectReason.UnknownKey;
    }
    return { ok: false, reason, detail: `${split.reason}: ${split.detail}` };
  }
  const signingKeyId = split.signingKeyId;
  if (signingKeyId === undefined || signingKeyId === '') {
    return {
      ok: false,
      reason: RejectReason.UnknownKey,
      detail: `${EnvelopeFailure.KeyIdMissing}: no signing_key_id`,
    };
  }

  // Decode before the trust checks: binding a key to a device needs the device id. A value the
  // contract forbids (a counter of 16 bits) fails the decode; it is reported as invalid_values
  // only after trust, signature and freshness held, with header fields read from the wire.
  const decoded = decodeEnvelope(payload);
  let envelope: DecodedEnvelope | undefined;
  let tsNs: bigint;
  let deviceId: string;
  let deferred: string | undefined;
  if (decoded.ok) {
    envelope = decoded.envelope;
    tsNs = envelope.header.tsNs;
    if (envelope.telemetry === undefined) {
      return {
        ok: false,
        reason: RejectReason.Undecodable,
        detail: 'no device_telemetry payload (unset, or a payload type this reader does not know)',
        signingKeyId,
      };
    }
    deviceId = envelope.telemetry.deviceId;
  } else if (decoded.reason === EnvelopeFailure.InvalidValue) {
    const peeked = peekHeader(payload);
    deferred = `${decoded.reason}: ${decoded.detail}`;
    if (peeked.deviceId === undefined) {
      return { ok: false, reason: RejectReason.Undecodable, detail: deferred, signingKeyId };
    }
    tsNs = peeked.tsNs;
    deviceId = peeked.deviceId;
  } else {
    return {
      ok: false,
      reason: RejectReason.Undecodable,
      detail: `${decoded.reason}: ${decoded.detail}`,
      signingKeyId,
    };
  }

  const base = {
    signingKeyId,
    deviceId,
    ...(envelope === undefined ? {} : { idempotencyKey: envelope.header.idempotencyKey }),
  };
  const reject: Reject = (reason, detail) => ({ ok: false, reason, detail, ...base });

  // Trust. Revocation first, so a revoked key always says so. Revocation is judged against the
  // later of the envelope's time and processing time: after a compromise the holder of the key
  // can backdate ts_ns, so once revokedAt has passed nothing signed by the key is accepted. The
  // validity window (retirement) is judged by ts_ns alone, so envelopes signed before notAfter
  // still drain after it.
  const key = trustedKey(ctx.trust, signingKeyId);
  if (key === undefined) {
    return reject(RejectReason.UnknownKey, `key ${quote(signingKeyId)} is not in the trust store`);
  }
  if (key.revokedAtMs !== undefined) {
    const revokedAtNs = msToNs(key.revokedAtMs);
    if (ctx.nowNs >= revokedAtNs || tsNs >= revokedAtNs) {
      return reject(
        RejectReason.RevokedKey,
        `key ${quote(signingKeyId)} was revoked at ${isoOfMs(key.revokedAtMs)}` +
          (key.revocationReason === undefined ? '' : ` (${quote(key.revocationReason)})`),
      );
    }
  }
  if (tsNs < msToNs(key.notBeforeMs)) {
    return reject(
      RejectReason.UnknownKey,
      `key ${quote(signingKeyId)} is valid from ${isoOfMs(key.notBeforeMs)}; envelope built at ${isoOfNs(tsNs)}`,
    );
  }
  if (key.notAfterMs !== undefined && tsNs >= msToNs(key.notAfterMs)) {
    return reject(
      RejectReason.UnknownKey,
      `key ${quote(signingKeyId)} was retired at ${isoOfMs(key.notAfterMs)}; envelope built at ${isoOfNs(tsNs)}`,
    );
  }
  // An empty device id cannot be bound to any key; it is invalid_values after the signature check.
  if (deviceId !== '' && !keyIsBound(key, deviceId)) {
    return reject(
      RejectReason.KeyNotBound,
      `key ${quote(signingKeyId)} may not sign for device ${quote(deviceId)}`,
    );
  }

  // Signature over the bytes as received, field 15 cut out.
  const verifier = ctx.verifier ?? defaultVerifier;
  if (!verifier.verify(key.publicKey, split.signingInput, split.signature)) {
    return reject(
      RejectReason.BadSignature,
      `signature does not verify under key ${quote(signingKeyId)} (${verifier.implementation})`,
    );
  }

  // Freshness, on the (now authenticated) ts_ns.
  const windowNs = msToNs(ctx.freshnessWindowMs);
  if (tsNs < ctx.nowNs - windowNs) {
    return reject(
      RejectReason.Stale,
      `built at ${isoOfNs(tsNs)}, ${(ctx.nowNs - tsNs) / nsPerMs} ms ago; the freshness window is ${ctx.freshnessWindowMs} ms`,
    );
  }
  if (tsNs > ctx.nowNs + msToNs(ctx.maxFutureSkewMs)) {
    return reject(
      RejectReason.Future,
      `built at ${isoOfNs(tsNs)}, ${(tsNs - ctx.nowNs) / nsPerMs} ms ahead; the allowed clock skew is ${ctx.maxFutureSkewMs} ms`,
    );
  }

  // Values.
  if (deferred !== undefined) return reject(RejectReason.InvalidValues, deferred);
  const env = envelope as DecodedEnvelope;
  const checked = checkContract(env);
  if (!checked.ok) return reject(RejectReason.InvalidValues, checked.detail);
  const { poll } = checked;
  return {
    ok: true,
    idempotencyKey: env.header.idempotencyKey,
    deviceId: poll.deviceId,
    signingKeyId,
    schemaId,
    envelopeTsNs: tsNs,
    slotStartNs: poll.slotStartNs,
    poll,
    metricsCount: poll.metrics.length,
  };
}

/** Where a rejected message was read from. */
export interface DlqSource {
  topic: string;
  partition: number;
  /** Kafka offset (kafkajs gives a decimal string). */
  offset: string | number | bigint;
  /** The record key (the device id on the raw topic); absent or null for none. */
  key?: Uint8Array | string | null;
}

/** `amoskys.reason.message` is cut to this many characters (a header is not a payload). */
export const MAX_DLQ_MESSAGE_CHARS = 1000;

/**
 * Headers of a dead-lettered message (names: {@link DlqHeader}; values UTF-8 strings): reason
 * code, message, source topic / partition / offset / key, and when it was rejected. The record key
 * header is omitted when the source record had none; a key that is not UTF-8 is decoded lossily
 * (the dead letter keeps the original key as its own key).
 * @param nowMs rejection time, ms since the epoch
 */
export function dlqHeaders(
  reject: Pick<RejectedMessage, 'reason' | 'detail'>,
  source: DlqSource,
  nowMs: number,
): Record<string, string> {
  const chars = Array.from(reject.detail);
  const message =
    chars.length > MAX_DLQ_MESSAGE_CHARS
      ? `${chars.slice(0, MAX_DLQ_MESSAGE_CHARS - 1).join('')}…`
      : reject.detail;
  const headers: Record<string, string> = {
    [DlqHeader.Reason]: reject.reason,
    [DlqHeader.Message]: message,
    [DlqHeader.SourceTopic]: source.topic,
    [DlqHeader.SourcePartition]: String(source.partition),
    [DlqHeader.SourceOffset]: String(source.offset),
    [DlqHeader.RejectedAtMs]: String(Math.trunc(nowMs)),
  };
  if (source.key !== undefined && source.key !== null) {
    headers[DlqHeader.SourceKey] = typeof source.key === 'string' ? source.key : utf8.decode(source.key);
  }
  return headers;
}
