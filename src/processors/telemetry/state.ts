/**
 * The processor's state for one input partition: idempotency keys seen within the dedup retention,
 * and the latest counter snapshot of each device (for rates). It lives in memory and in the
 * changelog topic (config `topics.processorState`), partition N for raw partition N, written in the
 * same Kafka transaction as the outputs it explains. A crash therefore loses nothing and keeps no
 * half-step: the aborted transaction's state records vanish with its outputs.
 *
 * Changelog records (key -> value):
 *   d:<idempotency key> -> 8-byte big-endian envelope ts_ns   (dedup)
 *   s:<device id>       -> counter snapshot bytes (flatten.ts) (rates)
 *   m:<uuid>            -> empty                               (restore marker, see restore.ts)
 */

/** One changelog record. */
export interface ChangelogRecord {
  key: string;
  value: Buffer;
}

export const changelogKey = {
  dedup: (idempotencyKey: string) => `d:${idempotencyKey}`,
  snapshot: (deviceId: string) => `s:${deviceId}`,
  marker: (id: string) => `m:${id}`,
} as const;

function u64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return b;
}

/** State of one partition. Pure data structure; persistence is the caller's. */
export class PartitionState {
  /**
   * idempotency key -> the envelope's ts_ns. Expiry keys on ts_ns, the same clock freshness is
   * judged on: a replay is refused as stale once its key may have been forgotten, never before.
   */
  readonly #seen = new Map<string, bigint>();
  /** device id -> encoded counter snapshot. */
  readonly #snapshots = new Map<string, Buffer>();

  /** Whether this idempotency key was already processed (and is still within retention). */
  has(idempotencyKey: string): boolean {
    return this.#seen.has(idempotencyKey);
  }

  snapshot(deviceId: string): Buffer | undefined {
    return this.#snapshots.get(deviceId);
  }

  get size(): { keys: number; devices: number } {
    return { keys: this.#seen.size, devices: this.#snapshots.size };
  }

  /** Applies one changelog record (restore, or after a committed transaction). */
  apply(record: ChangelogRecord): void {
    const kind = record.key.slice(0, 2);
    const id = record.key.slice(2);
    if (kind === 'd:' && record.value.length === 8) this.#seen.set(id, record.value.readBigUInt64BE());
    else if (kind === 's:') this.#snapshots.set(id, record.value);
  }

  /** Forgets keys of envelopes built before `cutoffNs`: memory stays bounded by retention × rate. */
  expire(cutoffNs: bigint): number {
    let removed = 0;
    for (const [key, tsNs] of this.#seen) {
      if (tsNs < cutoffNs) {
        this.#seen.delete(key);
        removed++;
      }
    }
    return removed;
  }
}

/** Records that make an accepted envelope durable in the changelog. */
export function acceptedRecords(
  idempotencyKey: string,
  envelopeTsNs: bigint,
  deviceId: string,
  snapshot: Buffer,
): ChangelogRecord[] {
  return [
    { key: changelogKey.dedup(idempotencyKey), value: u64(envelopeTsNs) },
    { key: changelogKey.snapshot(deviceId), value: snapshot },
  ];
}
