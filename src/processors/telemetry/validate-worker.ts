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

export default function validateSlice(task: ValidateTask): SliceResult[] {
  const known = new Set(task.knownSchemaIds);
  const ctx = {
    trust: task.trust,
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
