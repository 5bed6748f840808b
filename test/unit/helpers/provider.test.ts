import { describe, expect, it } from 'vitest';
import { chooseProvider } from '../../helpers/provider.ts';

describe('chooseProvider', () => {
  it('uses configured endpoints as they are', () => {
    expect(chooseProvider({ AMOSKYS_KAFKA_BROKERS: 'k:9092' }, true).provider).toBe('external');
  });
  it('prefers testcontainers when a Docker engine answers and nothing is configured', () => {
    expect(chooseProvider({}, true).provider).toBe('testcontainers');
  });
  it('falls back to the native local stack', () => {
    expect(chooseProvider({}, false)).toEqual({
      provider: 'local',
      reason: 'no endpoints configured and no Docker engine',
    });
  });
  it('honours and validates AMOSKYS_TEST_STACK', () => {
    expect(chooseProvider({ AMOSKYS_TEST_STACK: 'local', AMOSKYS_KAFKA_BROKERS: 'k:1' }, true).provider).toBe(
      'local',
    );
    expect(() => chooseProvider({ AMOSKYS_TEST_STACK: 'docker' }, false)).toThrow(/AMOSKYS_TEST_STACK/);
  });
});
