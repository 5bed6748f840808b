import { describe, expect, it } from 'vitest';
import { formatTable } from '../../../src/cli/output.ts';

describe('formatTable', () => {
  it('aligns columns to the widest cell', () => {
    expect(
      formatTable(
        ['A', 'BB'],
        [
          ['xxx', 'y'],
          ['z', 'wwww'],
        ],
      ),
    ).toBe('A    BB\nxxx  y\nz    wwww');
  });
});
