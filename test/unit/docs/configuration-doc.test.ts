import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaults, envVars, loadConfig, repoRoot } from '../../../src/core/config/index.ts';

describe('docs/configuration.md', () => {
  const doc = readFileSync(`${repoRoot}/docs/configuration.md`, 'utf8');
  const rows = [...doc.matchAll(/^\| `(AMOSKYS_[A-Z0-9_]+)` \| `([^`]+)` \| (yes)? ?\|/gm)];

  it('documents exactly the variables the code reads, with their settings and secrecy', () => {
    const documented = Object.fromEntries(rows.map((m) => [m[1], { path: m[2], secret: m[3] === 'yes' }]));
    const actual = Object.fromEntries(
      Object.entries(envVars).map(([k, v]) => [k, { path: v.path, secret: v.secret }]),
    );
    expect(documented).toEqual(actual);
  });
});

describe('config/amoskys.example.yaml', () => {
  it('is valid and shows the defaults', () => {
    const file = `${repoRoot}/config/amoskys.example.yaml`;
    const { config } = loadConfig({ file, env: {} });
    expect(stringify({ ...config, stateDir: '' })).toBe(stringify({ ...defaults, stateDir: '' }));
  });
});
