/**
 * Worker-thread entry of the validation pool (piscina): signature checks bound the processor, so
 * chunks are split across one thread per core. Pure: everything it needs comes with the task.
 */
import type { TrustSnapshot } from '../../core/crypto/index.ts';
import { type ValidateResult, validateMessage } from './validate.ts';

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

export default function validateSlice(task: ValidateTask): ValidateResult[] {
  const known = new Set(task.knownSchemaIds);
  const ctx = {
    trust: task.trust,
    nowNs: task.nowNs,
    freshnessWindowMs: task.freshnessWindowMs,
    maxFutureSkewMs: task.maxFutureSkewMs,
    maxMessageBytes: task.maxMessageBytes,
    isKnownSchemaId: (id: number) => known.has(id),
  };
  return task.values.map((value) => validateMessage(value, ctx));
}
