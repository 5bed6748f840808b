/**
 * Reconciliation of the raw topic against ClickHouse: every message read from the topic gets one
 * fate, so `produced = stored + rejected + duplicates + partial + missing` always holds and the
 * pipeline is reconciled when the last two are 0. Pure and streaming: messages are added one by
 * one in offset order per partition (the topic can be larger than memory is comfortable with;
 * only the keys seen are kept).
 *
 * Fate of a message, in this order:
 * 1. rejected: `dlq` has a row whose source coordinates are its (topic, partition, offset);
 * 2. no readable idempotency key and no dead letter: missing;
 * 3. its key is in both `features` and `raw_envelopes`: stored if no earlier message (not
 *    rejected) carried the key, else duplicate (the processor dropped it by its key);
 * 4. its key is in one of the two tables: partial;
 * 5. otherwise missing: lost, or not processed yet (pipeline lag).
 * Window: a message belongs to it by its slot start (from the key, so every copy of a poll falls
 * on the same side), or by its Kafka timestamp when it has no readable key.
 */
import type { TimeWindow } from '../timeline/index.ts';
import {
  type DeadLetter,
  type DeviceReconcile,
  type LostMessage,
  MessageFate,
  type ReconcileCounts,
  type Reconciliation,
  type TopicMessage,
} from './types.ts';

/** The parts of an idempotency key `<device_id>/<interval_s>/<slot>`. */
export interface ParsedKey {
  readonly deviceId: string;
  readonly intervalS: number;
  readonly slot: bigint;
  /** `slot * interval`, s since the epoch. */
  readonly slotStartS: number;
}

/** Parses an idempotency key; device ids may contain `/`. `null` when it is not one. */
export function parseIdempotencyKey(key: string): ParsedKey | null {
  const m = /^(.+)\/(\d+)\/(\d+)$/.exec(key);
  if (m === null) return null;
  const intervalS = Number(m[2]);
  const slot = BigInt(m[3] as string);
  return { deviceId: m[1] as string, intervalS, slot, slotStartS: Number(slot * BigInt(intervalS)) };
}

/** What ClickHouse holds for the window. */
export interface StoredState {
  /** Keys in `features` (the analyst's rows). */
  readonly featureKeys: ReadonlySet<string>;
  /** Keys in `raw_envelopes` (the archive). */
  readonly rawKeys: ReadonlySet<string>;
  /** Dead letters of the raw topic. */
  readonly deadLetters: readonly DeadLetter[];
}

const zero = (): ReconcileCounts => ({
  produced: 0,
  stored: 0,
  rejected: 0,
  duplicates: 0,
  partial: 0,
  missing: 0,
  notOnTopic: 0,
});

/** Classifies raw-topic messages one by one; {@link Reconciler.result} adds the converse check. */
export class Reconciler {
  readonly #stored: StoredState;
  readonly #window: TimeWindow;
  readonly #sampleSize: number;
  readonly #deadLetters: Map<string, string>;
  /** Keys carried by a message that was not rejected: a later one is a duplicate. */
  readonly #accepted = new Set<string>();
  /** Every key read in the window, for the converse check. */
  readonly #seen = new Set<string>();
  readonly #total = zero();
  readonly #devices = new Map<string, ReconcileCounts>();
  readonly #rejectedByReason: Record<string, number> = {};
  readonly #lost: LostMessage[] = [];
  #outsideWindow = 0;

  /**
   * @param stored what ClickHouse holds for the window
   * @param window messages outside it are counted apart and otherwise ignored
   * @param sampleSize how many lost messages and not-on-topic keys to list @default 20
   */
  constructor(stored: StoredState, window: TimeWindow, sampleSize = 20) {
    this.#stored = stored;
    this.#window = window;
    this.#sampleSize = sampleSize;
    this.#deadLetters = new Map(stored.deadLetters.map((d) => [`${d.partition}:${d.offset}`, d.reason]));
  }

  #count(deviceId: string, field: keyof ReconcileCounts): void {
    this.#total[field]++;
    let d = this.#devices.get(deviceId);
    if (d === undefined) {
      d = zero();
      this.#devices.set(deviceId, d);
    }
    d[field]++;
  }

  /** Classifies one message; returns its fate, or `null` when it lies outside the window. */
  add(message: TopicMessage): MessageFate | null {
    const key = message.idempotencyKey;
    const parsed = key === null ? null : parseIdempotencyKey(key);
    const timeS = parsed?.slotStartS ?? Math.floor(message.timestampMs / 1000);
    if (timeS < this.#window.startS || timeS >= this.#window.endS) {
      this.#outsideWindow++;
      return null;
    }
    const deviceId = parsed?.deviceId ?? message.kafkaKey ?? '(no key)';
    this.#count(deviceId, 'produced');
    if (key !== null) this.#seen.add(key);

    const lost = (fate: LostMessage['fate'], detail: string): MessageFate => {
      this.#count(deviceId, fate);
      if (this.#lost.length < this.#sampleSize) {
        this.#lost.push({
          partition: message.partition,
          offset: message.offset.toString(),
          deviceId,
          idempotencyKey: key,
          fate,
          detail,
        });
      }
      return fate;
    };

    const reason = this.#deadLetters.get(`${message.partition}:${message.offset}`);
    if (reason !== undefined) {
      this.#count(deviceId, 'rejected');
      this.#rejectedByReason[reason] = (this.#rejectedByReason[reason] ?? 0) + 1;
      return MessageFate.Rejected;
    }
    if (key === null) return lost(MessageFate.Missing, 'no readable key, no dead letter');
    const inFeatures = this.#stored.featureKeys.has(key);
    const inRaw = this.#stored.rawKeys.has(key);
    if (inFeatures && inRaw) {
      const duplicate = this.#accepted.has(key);
      this.#accepted.add(key);
      this.#count(deviceId, duplicate ? 'duplicates' : 'stored');
      return duplicate ? MessageFate.Duplicate : MessageFate.Stored;
    }
    if (inFeatures || inRaw) {
      return lost(MessageFate.Partial, inFeatures ? 'in features only' : 'in raw_envelopes only');
    }
    return lost(MessageFate.Missing, 'in neither table, no dead letter');
  }

  /** The reconciliation so far, with the keys stored but never seen on the topic. */
  result(): Reconciliation {
    // Counted on copies, so result() can be called again after more messages.
    const total = { ...this.#total };
    const byDevice = new Map([...this.#devices].map(([id, c]) => [id, { ...c }]));
    const notOnTopicKeys: string[] = [];
    const notOnTopic = (key: string) => {
      if (this.#seen.has(key)) return;
      const deviceId = parseIdempotencyKey(key)?.deviceId ?? '(unparsable key)';
      total.notOnTopic++;
      let d = byDevice.get(deviceId);
      if (d === undefined) {
        d = zero();
        byDevice.set(deviceId, d);
      }
      d.notOnTopic++;
      if (notOnTopicKeys.length < this.#sampleSize) notOnTopicKeys.push(key);
    };
    for (const key of this.#stored.featureKeys) notOnTopic(key);
    for (const key of this.#stored.rawKeys) if (!this.#stored.featureKeys.has(key)) notOnTopic(key);
    const devices: DeviceReconcile[] = [...byDevice.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([deviceId, c]) => ({ deviceId, ...c }));

    return {
      ...total,
      reconciled: total.missing === 0 && total.partial === 0,
      rejectedByReason: { ...this.#rejectedByReason },
      outsideWindow: this.#outsideWindow,
      devices,
      lost: [...this.#lost],
      notOnTopicKeys,
    };
  }
}

/** Classifies a whole list of messages (ordered by offset within each partition). */
export function reconcile(
  messages: Iterable<TopicMessage>,
  stored: StoredState,
  window: TimeWindow,
  sampleSize = 20,
): Reconciliation {
  const r = new Reconciler(stored, window, sampleSize);
  for (const m of messages) r.add(m);
  return r.result();
}
