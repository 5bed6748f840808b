import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../../src/core/errors/index.ts';
import { waitFor } from '../../helpers/wait.ts';

describe('waitFor', () => {
  it('returns the first defined value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? calls : undefined), {
      description: 'three calls',
      intervalMs: 1,
    });
    expect(value).toBe(3);
  });

  it('times out naming what it waited for and the last error', async () => {
    const attempt = waitFor(
      () => {
        throw new Error('broker not ready');
      },
      { description: 'the broker', timeoutMs: 20, intervalMs: 5 },
    );
    await expect(attempt).rejects.toThrow(TimeoutError);
    await expect(attempt).rejects.toThrow(/waiting for the broker \(last error: broker not ready\)/);
  });
});
