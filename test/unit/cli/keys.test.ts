import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { readKeyFile, readTrustStore } from '../../../src/core/crypto/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with a fresh state folder. */
function amoskys(args: string[], stateDir: string) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AMOSKYS_')));
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
    { env: { ...clean, AMOSKYS_STATE_DIR: stateDir }, encoding: 'utf8', cwd: repoRoot },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function stateDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-cli-keys-'));
  dirs.push(dir);
  return dir;
}

describe('amoskys keys generate', () => {
  it('writes a private key file and a trust-store entry, and prints only public material', () => {
    const state = stateDir();
    const { code, stdout, stderr } = amoskys(
      ['keys', 'generate', '--key-id', 'edge-1', '--device', 'router-1', 'router-2'],
      state,
    );
    expect(code, stderr).toBe(0);
    const keyFile = path.join(state, 'keys', 'edge-1.json');
    const { key, warnings } = readKeyFile(keyFile);
    expect(warnings).toEqual([]);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(key.devices).toEqual(['router-1', 'router-2']);
    const publicKey = Buffer.from(key.publicKey).toString('base64');
    expect(stdout).toContain('edge-1');
    expect(stdout).toContain(publicKey);
    expect(stdout + stderr).not.toContain(Buffer.from(key.secretKey).toString('base64'));
    expect(stdout + stderr).not.toContain(Buffer.from(key.secretKey).toString('hex'));

    const store = readTrustStore(path.join(state, 'keys', 'trust-store.json'));
    expect(store.keys).toEqual([
      { keyId: 'edge-1', publicKey, devices: ['router-1', 'router-2'], notBefore: key.createdAt },
    ]);
  });

  it('refuses to overwrite without --force, leaving both files as they were; --force replaces both', () => {
    const state = stateDir();
    expect(amoskys(['keys', 'generate', '--key-id', 'k', '--device', 'd'], state).code).toBe(0);
    const keyFile = path.join(state, 'keys', 'k.json');
    const storeFile = path.join(state, 'keys', 'trust-store.json');
    const before = [readFileSync(keyFile, 'utf8'), readFileSync(storeFile, 'utf8')];

    const again = amoskys(['keys', 'generate', '--key-id', 'k', '--device', 'd'], state);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has key k; use --force/);
    expect([readFileSync(keyFile, 'utf8'), readFileSync(storeFile, 'utf8')]).toEqual(before);

    const forced = amoskys(
      ['keys', 'generate', '--key-id', 'k', '--device', 'd', '--force', '--json'],
      state,
    );
    expect(forced.code, forced.stderr).toBe(0);
    const printed = JSON.parse(forced.stdout);
    expect(printed).toMatchObject({ keyId: 'k', trustStoreChange: 'replaced' });
    expect(readTrustStore(storeFile).keys.map((k) => k.publicKey)).toEqual([printed.publicKey]);
    expect(Buffer.from(readKeyFile(keyFile).key.publicKey).toString('base64')).toBe(printed.publicKey);
  });

  it('writes to --out and refuses an existing --out file without --force', () => {
    const state = stateDir();
    const out = path.join(state, 'elsewhere', 'edge.json');
    expect(amoskys(['keys', 'generate', '--key-id', 'a', '--device', 'd', '--out', out], state).code).toBe(0);
    expect(readKeyFile(out).key.keyId).toBe('a');
    const again = amoskys(['keys', 'generate', '--key-id', 'b', '--device', 'd', '--out', out], state);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; use --force/);
    expect(readKeyFile(out).key.keyId).toBe('a');
    // The refused run must not have trusted a key nobody holds.
    expect(readTrustStore(path.join(state, 'keys', 'trust-store.json')).keys.map((k) => k.keyId)).toEqual([
      'a',
    ]);
  });

  it('needs a key id and at least one device (usage errors exit 2), and refuses bad key ids (exit 1)', () => {
    const state = stateDir();
    expect(amoskys(['keys', 'generate', '--device', 'd'], state).code).toBe(2);
    expect(amoskys(['keys', 'generate', '--key-id', 'k'], state).code).toBe(2);
    const bad = amoskys(['keys', 'generate', '--key-id', '../k', '--device', 'd'], state);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/invalid key id/);
  });
});
