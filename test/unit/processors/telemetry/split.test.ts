import { describe, expect, it } from 'vitest';
import { splitBySize } from '../../../../src/processors/telemetry/processor.ts';

const record = (topic: string, bytes: number, key = 'k') => ({
  topic,
  message: { key, value: Buffer.alloc(bytes) },
});

describe('splitBySize', () => {
  it('keeps every record, in order, and each request under the limit', () => {
    const records = [
      ...Array.from({ length: 500 }, () => record('features', 6000)),
      ...Array.from({ length: 500 }, () => record('state', 700)),
    ];
    const parts = splitBySize(records, 768 * 1024);
    const flat = parts.flatMap((p) => p.flatMap((t) => t.messages.map((m) => [t.topic, m.value.length])));
    expect(flat).toEqual(records.map((r) => [r.topic, r.message.value.length]));
    for (const part of parts) {
      const bytes = part
        .flatMap((t) => t.messages)
        .reduce((n, m) => n + m.value.length + (m.key?.length ?? 0), 0);
      expect(bytes).toBeLessThanOrEqual(768 * 1024);
    }
    expect(parts.length).toBeGreaterThan(3);
  });

  it('sends a record larger than the limit alone, and nothing for no records', () => {
    expect(
      splitBySize([record('dlq', 10), record('dlq', 2000), record('dlq', 10)], 1000).map(
        (p) => p[0]?.messages.length,
      ),
    ).toEqual([1, 1, 1]);
    expect(splitBySize([], 1000)).toEqual([]);
  });
});
