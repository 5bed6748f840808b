export {
  buildSignedEnvelope,
  decodeEnvelope,
  ENVELOPE_VERSION,
  encodeUnsignedEnvelope,
  signEnvelopeBytes,
  type ToDevicePollResult,
  toDevicePoll,
} from './codec.ts';
export { type ContractResult, checkContract } from './contract.ts';
export { type JsonValue, toJsonValue } from './json.ts';
export { type EnvelopeSchema, envelopeSchema } from './schema.ts';
export type {
  DecodedEnvelope,
  DecodedFlow,
  DecodedMetric,
  DecodedMetricValue,
  DecodedProcess,
  DecodedStatus,
  DecodedTelemetry,
  DecodeResult,
  EnvelopeFailureResult,
  EnvelopeHeader,
} from './types.ts';
export { EnvelopeFailure } from './types.ts';
export {
  type PublicKeyLookup,
  type VerifyOptions,
  type VerifyResult,
  verifyEnvelopeBytes,
} from './verify.ts';
export {
  appendSignature,
  MAX_FIELD_NUMBER,
  readVarint,
  type ScanFailure,
  type ScanResult,
  SIGNATURE_FIELD,
  type SplitResult,
  scanFields,
  splitSignature,
  type WireField,
  WireType,
} from './wire.ts';
