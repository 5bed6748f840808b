/**
 * How a partition's messages are cut into inserts, pure. A ClickHouse insert is atomic only
 * when it is one block of one table partition, so a batch never holds more than `maxRows` rows of
 * a table and never spans two months (the tables are partitioned by `toYYYYMM` of the slot start,
 * in the server's time zone). The cut depends only on the messages, the limits and, after a
 * restart, the end offset the previous instance recorded before its insert: the same messages
 * always make the same batches, so a retry resends identical rows (and, on current servers, the
 * same insert_deduplication_token).
 */

/** What the planner needs of a message. */
export interface Plannable {
  /** Rows the message adds to the larger table it is written to; 0 for a skipped message. */
  rows: number;
  /** Partition key of its rows (e.g. `202611`); undefined when it has none (dlq, skipped). */
  partition?: string | undefined;
}

/** A batch: messages `[start, end)` of the input. */
export interface BatchSpan {
  start: number;
  end: number;
}

/**
 * Cuts a stream of messages into batches, one message at a time, so that a caller decodes and
 * holds only the batch it is filling: a batch ends before a message that would take it over
 * `maxRows` rows or into another partition, and the first batch ends after index `firstEnd` when
 * given (the end recorded by a previous instance). A single message larger than `maxRows` forms a
 * batch of its own.
 */
export class BatchCutter {
  readonly #maxRows: number;
  readonly #firstEnd: number | undefined;
  #index = 0;
  #batches = 0;
  #rows = 0;
  #size = 0;
  #partition: string | undefined;

  constructor(maxRows: number, firstEnd?: number) {
    this.#maxRows = maxRows;
    this.#firstEnd = firstEnd;
  }

  /** Takes the next message; true when the batch so far must be closed before it. */
  next(item: Plannable): boolean {
    const forced = this.#batches === 0 && this.#firstEnd !== undefined && this.#index === this.#firstEnd + 1;
    const otherPartition =
      item.partition !== undefined && this.#partition !== undefined && item.partition !== this.#partition;
    const cut = this.#size > 0 && (forced || otherPartition || this.#rows + item.rows > this.#maxRows);
    if (cut) {
      this.#batches++;
      this.#rows = 0;
      this.#size = 0;
      this.#partition = undefined;
    }
    this.#rows += item.rows;
    this.#size++;
    this.#partition ??= item.partition;
    this.#index++;
    return cut;
  }
}

/** All batches of `items` at once (see {@link BatchCutter}). */
export function planBatches(items: readonly Plannable[], maxRows: number, firstEnd?: number): BatchSpan[] {
  const cutter = new BatchCutter(maxRows, firstEnd);
  const spans: BatchSpan[] = [];
  let start = 0;
  items.forEach((item, i) => {
    if (cutter.next(item)) {
      spans.push({ start, end: i });
      start = i;
    }
  });
  if (start < items.length) spans.push({ start, end: items.length });
  return spans;
}

/**
 * The `toYYYYMM` partition of a time in a time zone, memoised per quarter hour (every zone's
 * offset is a multiple of 15 minutes, so a quarter hour never spans two months anywhere).
 */
export function monthPartitioner(timeZone: string): (seconds: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' });
  const cache = new Map<number, string>();
  return (seconds) => {
    const quarter = Math.floor(seconds / 900);
    let key = cache.get(quarter);
    if (key === undefined) {
      const parts = format.formatToParts(new Date(quarter * 900_000));
      key = `${parts.find((p) => p.type === 'year')?.value}${parts.find((p) => p.type === 'month')?.value}`;
      if (cache.size > 10_000) cache.clear();
      cache.set(quarter, key);
    }
    return key;
  };
}

/** Offset-commit metadata recording the end of the batch about to be inserted. */
export function intentMetadata(endOffset: string): string {
  return `amoskys-sink/1 end=${endOffset}`;
}

/** The end offset recorded by {@link intentMetadata}; undefined for anything else. */
export function parseIntentMetadata(metadata: string | null | undefined): string | undefined {
  return /^amoskys-sink\/1 end=(\d+)$/.exec(metadata ?? '')?.[1];
}
