import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../../src/core/errors/index.ts';
import { createLogger } from '../../../../src/core/logging/index.ts';
import { whenRegistryAnswers } from '../../../../src/core/registry/index.ts';

const options = {
  logger: createLogger({ level: 'silent' }),
  what: 'a schema id',
  retry: { minMs: 1, maxMs: 5 },
};

describe('whenRegistryAnswers', () => {
  it('waits for a registry that does not answer yet', async () => {
    let calls = 0;
    const id = await whenRegistryAnswers(async () => {
      calls++;
      if (calls < 4) throw new RegistryError('Schema Registry did not answer: fetch failed');
      return 7;
    }, options);
    expect(id).toBe(7);
    expect(calls).toBe(4);
  });

  it('fails at once on an answer that means misconfiguration', async () => {
    let calls = 0;
    const lookup = async () => {
      calls++;
      throw new RegistryError('looking up the schema failed with 401', { status: 401 });
    };
    await expect(whenRegistryAnswers(lookup, options)).rejects.toThrow('401');
    expect(calls).toBe(1);
  });

  it('gives up after its deadline with the last error', async () => {
    const lookup = async () => {
      throw new RegistryError('Schema Registry answered 503', { status: 503 });
    };
    await expect(whenRegistryAnswers(lookup, { ...options, deadlineMs: 50 })).rejects.toThrow('503');
  });
});
