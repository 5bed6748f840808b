/**
 * Worker-thread entry of the validation pool (piscina): signature checks bound the processor, so
 * chunks are split across one thread per core. Pure: everything it needs comes with the task.
 */
import type { TrustSnapshot } from '../../core/crypto/index.ts';
import { type AcceptedMessage, type RejectedMessage, validateMessage } from './validate.ts';

/**
 * What a slice returns per message: the validation result without the decoded poll. Cloning a
 * poll's objects back to the main thread costs both threads more than the main thread decoding
 * the (already verified) bytes again where a poll is needed (bench/processor).
 */
export type SliceResult = Omit<AcceptedMessage, 'poll'> | RejectedMessage;

/** One slice of a chunk. */
export interface ValidateTask {
  values: (Uint8Array | null)[];
  trust: TrustSnapshot;
  nowNs: bigint;
  freshnessWindowMs: number;
  maxFutureSkewMs: number;
  maxMessageBytes: number;
  knownSchemaIds: number[];
}

/** The first copy of the trust store version in force, as this thread received it. */
let trustInForce: TrustSnapshot | undefined;

/**
 * Every task brings the trust store as a fresh structured clone; keeping the first copy of each
 * version (same file hash) keeps the per-key caches of validateMessage (the device set of a key
 * bound to many devices) across tasks: rebuilding it cost 1.3 ms per task at 10,000 devices
 * (docs/reliability.md, load run).
 */
function trustOf(snapshot: TrustSnapshot): TrustSnapshot {
  if (snapshot.sha256 !== '' && trustInForce?.sha256 === snapshot.sha256) return trustInForce;
  trustInForce = snapshot;
  return snapshot;
}

export default function validateSlice(task: ValidateTask): SliceResult[] {
  const known = new Set(task.knownSchemaIds);
  const ctx = {
    trust: trustOf(task.trust),
    nowNs: task.nowNs,
    freshnessWindowMs: task.freshnessWindowMs,
    maxFutureSkewMs: task.maxFutureSkewMs,
    maxMessageBytes: task.maxMessageBytes,
    isKnownSchemaId: (id: number) => known.has(id),
  };
  return task.values.map((value) => {
    const result = validateMessage(value, ctx);
    if (!result.ok) return result;
    const { poll: _poll, ...accepted } = result;
    return accepted;
  });
}
