import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { supervisedConsumer } from '../../../../src/core/kafka/index.ts';
import { createLogger } from '../../../../src/core/logging/index.ts';
import { waitFor } from '../../../helpers/wait.ts';

/** The part of a kafkajs consumer the supervisor touches: CRASH events and disconnect. */
class FakeConsumer extends EventEmitter {
  readonly events = { CRASH: 'consumer.crash' };
  disconnects = 0;
  async disconnect(): Promise<void> {
    this.disconnects++;
  }
  crash(restart: boolean): void {
    this.emit('consumer.crash', {
      payload: { error: new Error('Failed to find group coordinator'), restart },
    });
  }
}

function harness(options: { failRuns?: number } = {}) {
  const made: FakeConsumer[] = [];
  const runs: FakeConsumer[] = [];
  let replaces = 0;
  let failRuns = options.failRuns ?? 0;
  const consumer = supervisedConsumer({
    logger: createLogger({ level: 'silent' }),
    create: () => {
      const c = new FakeConsumer();
      made.push(c);
      return c as unknown as Consumer;
    },
    run: async (c) => {
      // The first start always works; replacements fail `failRuns` times (a broker still down).
      if (runs.length > 0 && failRuns > 0) {
        failRuns--;
        throw new Error('Connection error: connect ECONNREFUSED');
      }
      runs.push(c as unknown as FakeConsumer);
    },
    onReplace: () => {
      replaces++;
    },
    retry: { minMs: 1, maxMs: 5 },
  });
  return { consumer, made, runs, replaces: () => replaces };
}

describe('supervisedConsumer', () => {
  it('leaves a crash kafkajs restarts from to kafkajs', async () => {
    const h = harness();
    await h.consumer.start();
    h.made[0]?.crash(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(h.made).toHaveLength(1);
    expect(h.consumer.replacements()).toBe(0);
    await h.consumer.close();
  });

  it('replaces a consumer kafkajs gave up on, after dropping the partition state', async () => {
    const h = harness();
    await h.consumer.start();
    const first = h.made[0] as FakeConsumer;
    first.crash(false);
    await waitFor(() => h.consumer.replacements() === 1, { description: 'a replacement', timeoutMs: 2000 });
    expect(h.runs).toHaveLength(2);
    expect(first.disconnects).toBeGreaterThanOrEqual(1);
    expect(h.replaces()).toBe(1);
    expect(h.consumer.current()).toBe(h.runs[1]);
    // A late crash event of the old consumer changes nothing.
    first.crash(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(h.made).toHaveLength(2);
    await h.consumer.close();
    expect(h.runs[1]?.disconnects).toBe(1);
  });

  it('keeps trying to start the replacement while the broker is still down', async () => {
    const h = harness({ failRuns: 3 });
    await h.consumer.start();
    h.made[0]?.crash(false);
    await waitFor(() => h.consumer.replacements() === 1, { description: 'a replacement', timeoutMs: 5000 });
    expect(h.made).toHaveLength(5);
    // Each failed attempt's consumer was disconnected, not leaked.
    for (const c of h.made.slice(1, 4)) expect(c.disconnects).toBe(1);
    expect(h.consumer.current()).toBe(h.made[4]);
    await h.consumer.close();
  });

  it('stops replacing once closed', async () => {
    const h = harness({ failRuns: Number.POSITIVE_INFINITY });
    await h.consumer.start();
    h.made[0]?.crash(false);
    await waitFor(() => h.made.length >= 3, { description: 'failing attempts', timeoutMs: 2000 });
    await h.consumer.close();
    const after = h.made.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.made.length).toBe(after);
    expect(h.consumer.replacements()).toBe(0);
  });
});
