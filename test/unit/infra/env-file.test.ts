import { describe, expect, it } from 'vitest';
import { parseEnvFile } from './env-file.ts';

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines, skipping blanks and comments, and notes commented-out assignments', () => {
    const file = parseEnvFile(
      '# header\n\nAMOSKYS_A=x=y\nAMOSKYS_B=\n  # AMOSKYS_C=example\n# prose, not an assignment\n',
    );
    expect(file.values).toEqual({ AMOSKYS_A: 'x=y', AMOSKYS_B: '' });
    expect(file.entries.map((e) => [e.key, e.line])).toEqual([
      ['AMOSKYS_A', 3],
      ['AMOSKYS_B', 4],
    ]);
    expect(file.commentedKeys).toEqual(['AMOSKYS_C']);
  });

  it.each([
    ['quotes', 'A="x"', /quotes/],
    ['spaces around =', 'A = x', /invalid key/],
    ['export', 'export A=x', /invalid key/],
    ['an inline comment', 'A=x # note', /inline comment/],
    ['leading whitespace', '  A=x', /whitespace/],
    ['no =', 'A', /expected KEY=VALUE/],
    ['a key set twice', 'A=x\nA=y', /A is set twice/],
  ])('refuses %s, naming the line', (_what, text, message) => {
    expect(() => parseEnvFile(text, 'f.env')).toThrow(message);
    expect(() => parseEnvFile(text, 'f.env')).toThrow(/^f\.env:\d+: /);
  });
});
