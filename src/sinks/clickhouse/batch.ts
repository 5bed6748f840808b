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
 * Cuts `items` into batches: a batch ends before a message that would take it over `maxRows`
 * rows or into another partition, and the first batch ends after index `firstEnd` when given
 * (the end recorded by a previous instance). A single message larger than `maxRows` forms a batch
 * of its own.
 */
export function planBatches(items: readonly Plannable[], maxRows: number, firstEnd?: number): BatchSpan[] {
  const spans: BatchSpan[] = [];
  let start = 0;
  let rows = 0;
  let partition: string | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Plannable;
    const forced = spans.length === 0 && firstEnd !== undefined && i === firstEnd + 1;
    const otherPartition =
      item.partition !== undefined && partition !== undefined && item.partition !== partition;
    if (i > start && (forced || otherPartition || rows + item.rows > maxRows)) {
      spans.push({ start, end: i });
      start = i;
      rows = 0;
      partition = undefined;
    }
    rows += item.rows;
    partition ??= item.partition;
  }
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
