/**
 * Types of the telemetry processor stage (raw envelopes -> feature rows + dead letters).
 */

/**
 * Why a message was dead-lettered. A closed list: dashboards, alerts and the DLQ table key on it.
 * Duplicates are not rejects: they are counted, not dead-lettered.
 */
export const RejectReason = {
  /** The protobuf payload does not decode, or a required field is missing. */
  Undecodable: 'undecodable',
  /** The first byte is not the Confluent magic byte 0. */
  WrongMagic: 'wrong_magic',
  /** The schema id is not one of the raw topic's registered schemas. */
  UnknownSchemaId: 'unknown_schema_id',
  /** The signature does not verify over the received bytes. */
  BadSignature: 'bad_signature',
  /** The signing key id is not in the trust store (or not valid at the envelope's time). */
  UnknownKey: 'unknown_key',
  /** The signing key was revoked before the envelope was signed or processed. */
  RevokedKey: 'revoked_key',
  /** The key is in the trust store but may not sign for this device. */
  KeyNotBound: 'key_not_bound',
  /** Older than the freshness window. */
  Stale: 'stale',
  /** Further in the future than the allowed clock skew. */
  Future: 'future',
  /** Larger than the maximum message size. */
  Oversize: 'oversize',
  /** Decodes and verifies, but holds values that cannot be right (NaN, empty names, ...). */
  InvalidValues: 'invalid_values',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** Header names on dead-lettered messages: the DLQ topic's contract, shared with its consumers. */
export { DlqHeader } from '../../core/topics/index.ts';
