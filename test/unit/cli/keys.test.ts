import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { generateSigningKey, readKeyFile, readTrustStore } from '../../../src/core/crypto/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with a fresh state folder. */
function amoskys(args: string[], stateDir: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AMOSKYS_')));
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
    { env: { ...clean, AMOSKYS_STATE_DIR: stateDir, ...env }, encoding: 'utf8', cwd: repoRoot },
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

const publicKeyOfSeed = (seed: number) =>
  Buffer.from(
    generateSigningKey({ keyId: 'k', devices: ['d'], secretKey: new Uint8Array(32).fill(seed) }).publicKey,
  ).toString('base64');

/** Public keys of test/fixtures/ed25519/edge-cases.json, by case name, base64. */
const edgeCaseKeys: Record<string, string> = Object.fromEntries(
  (
    JSON.parse(readFileSync(`${repoRoot}/test/fixtures/ed25519/edge-cases.json`, 'utf8')) as {
      cases: { name: string; publicKey: string }[];
    }
  ).cases.map((c) => [c.name, Buffer.from(c.publicKey, 'hex').toString('base64')]),
);

// Each case spawns the CLI several times (about 0.5 s each on these machines).
describe('amoskys keys add | revoke | list', { timeout: 30_000 }, () => {
  it('adds a public key, lists it, is idempotent, and refuses another key under the same id', () => {
    const state = stateDir();
    const store = path.join(state, 'keys', 'trust-store.json');
    const key = publicKeyOfSeed(1);
    const args = ['keys', 'add', '--key-id', 'edge-2', '--public-key', key, '--device', 'r1', 'r2'];
    const added = amoskys([...args, '--not-before', '2026-01-01T00:00:00Z', '--json'], state);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ keyId: 'edge-2', trustStoreChange: 'added' });
    expect(readTrustStore(store).keys).toEqual([
      { keyId: 'edge-2', publicKey: key, devices: ['r1', 'r2'], notBefore: '2026-01-01T00:00:00.000Z' },
    ]);

    const again = amoskys(args, state);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/\(unchanged\)/);

    const other = amoskys(
      ['keys', 'add', '--key-id', 'edge-2', '--public-key', publicKeyOfSeed(2), '--device', 'r1'],
      state,
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/already has a different key edge-2; a key id names one key for good/);
    const forced = amoskys(
      ['keys', 'add', '--key-id', 'edge-2', '--public-key', publicKeyOfSeed(2), '--device', 'r1', '--force'],
      state,
    );
    expect(forced.code).toBe(1);

    const twin = amoskys(['keys', 'add', '--key-id', 'edge-3', '--public-key', key, '--device', 'r1'], state);
    expect(twin.code).toBe(1);
    expect(twin.stderr).toMatch(/already holds this public key as key edge-2/);

    const rebind = amoskys(
      ['keys', 'add', '--key-id', 'edge-2', '--public-key', key, '--device', 'r3'],
      state,
    );
    expect(rebind.code).toBe(1);
    expect(rebind.stderr).toMatch(/use --force/);
    expect(
      amoskys(['keys', 'add', '--key-id', 'edge-2', '--public-key', key, '--device', 'r3', '--force'], state)
        .code,
    ).toBe(0);
    expect(readTrustStore(store).keys[0]?.devices).toEqual(['r3']);

    const list = amoskys(['keys', 'list', '--json'], state);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({
      trustStore: store,
      keys: [
        {
          keyId: 'edge-2',
          status: 'active',
          devices: ['r3'],
          notBefore: '2026-01-01T00:00:00.000Z',
          notAfter: null,
          revokedAt: null,
          revocationReason: null,
          publicKey: key,
        },
      ],
    });
    const table = amoskys(['keys', 'list'], state);
    expect(table.stdout).toMatch(/^KEY ID\s+STATUS\s+DEVICES/);
    expect(table.stdout).toMatch(/edge-2\s+active\s+r3/);
  });

  it('refuses small-order, mixed-order and non-canonical public keys, and malformed base64', () => {
    const state = stateDir();
    const cases: [string, RegExp][] = [
      [
        edgeCaseKeys['small-order-key-identity'] as string,
        /refused: small_order \(a point of order 8 or less/,
      ],
      [edgeCaseKeys['mixed-order-key'] as string, /refused: mixed_order \(a point with a torsion component/],
      [edgeCaseKeys['non-canonical-key-identity'] as string, /refused: non_canonical/],
      ['not base64!', /expected 32 bytes of standard base64/],
    ];
    for (const [publicKey, message] of cases) {
      const result = amoskys(
        ['keys', 'add', '--key-id', 'bad', '--public-key', publicKey, '--device', 'r1'],
        state,
      );
      expect(result.code, publicKey).toBe(1);
      expect(result.stderr, publicKey).toMatch(message);
    }
    expect(existsSync(path.join(state, 'keys', 'trust-store.json'))).toBe(false);
  });

  it('adds from a key file (public parts only), into processor.trustStore', () => {
    const producerState = stateDir();
    expect(amoskys(['keys', 'generate', '--key-id', 'edge-9', '--device', 'r9'], producerState).code).toBe(0);
    const keyFile = path.join(producerState, 'keys', 'edge-9.json');
    const { key } = readKeyFile(keyFile);

    const state = stateDir();
    const store = path.join(state, 'elsewhere', 'trust.json');
    const env = { AMOSKYS_PROCESSOR_TRUST_STORE: store };
    const wrongId = amoskys(['keys', 'add', '--from-key-file', keyFile, '--key-id', 'other'], state, env);
    expect(wrongId.code).toBe(1);
    expect(wrongId.stderr).toMatch(/signs as edge-9, not other/);
    const added = amoskys(['keys', 'add', '--from-key-file', keyFile], state, env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout + added.stderr).not.toContain(Buffer.from(key.secretKey).toString('base64'));
    expect(readTrustStore(store).keys).toEqual([
      {
        keyId: 'edge-9',
        publicKey: Buffer.from(key.publicKey).toString('base64'),
        devices: ['r9'],
        notBefore: key.createdAt,
      },
    ]);
    const both = amoskys(
      ['keys', 'add', '--from-key-file', keyFile, '--public-key', 'x', '--key-id', 'y'],
      state,
      env,
    );
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/exactly one of --public-key and --from-key-file/);
  });

  it('revokes (only ever earlier), lists the revocation, and never re-adds a revoked key', () => {
    const state = stateDir();
    const key = publicKeyOfSeed(3);
    const add = ['keys', 'add', '--key-id', 'edge-1', '--public-key', key, '--device', 'r1'];
    expect(amoskys([...add, '--not-before', '2026-01-01T00:00:00Z'], state).code).toBe(0);
    expect(amoskys(['keys', 'revoke', '--key-id', 'nope'], state).stderr).toMatch(/has no key nope/);

    const revoked = amoskys(
      [
        'keys',
        'revoke',
        '--key-id',
        'edge-1',
        '--at',
        '2026-03-01T00:00:00+01:00',
        '--reason',
        'router stolen',
        '--json',
      ],
      state,
    );
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({
      revokedAt: '2026-02-28T23:00:00.000Z',
      revocationReason: 'router stolen',
      trustStoreChange: 'revoked',
    });
    const later = amoskys(['keys', 'revoke', '--key-id', 'edge-1'], state);
    expect(later.code).toBe(0);
    expect(later.stdout).toMatch(/revoked from 2026-02-28T23:00:00.000Z \(already revoked/);

    const listed = JSON.parse(amoskys(['keys', 'list', '--json'], state).stdout);
    expect(listed.keys[0]).toMatchObject({ status: 'revoked', revocationReason: 'router stolen' });
    const readd = amoskys(add, state);
    expect(readd.code).toBe(1);
    expect(readd.stderr).toMatch(/was revoked at 2026-02-28T23:00:00.000Z and cannot be trusted again/);
  });

  it('takes validity windows, retires keys, and refuses times without a zone as usage errors', () => {
    const state = stateDir();
    const base = ['keys', 'add', '--public-key', publicKeyOfSeed(4), '--device', 'r1'];
    expect(amoskys([...base, '--key-id', 'a', '--not-before', '2026-01-01'], state).code).toBe(2);
    expect(amoskys([...base, '--key-id', 'a', '--not-after', 'tomorrow'], state).code).toBe(2);
    expect(
      amoskys(
        [
          ...base,
          '--key-id',
          'a',
          '--not-before',
          '2026-02-01T00:00:00Z',
          '--not-after',
          '2026-01-01T00:00:00Z',
        ],
        state,
      ).stderr,
    ).toMatch(/notAfter must be later than notBefore/);
    expect(
      amoskys(
        [
          ...base,
          '--key-id',
          'retired',
          '--not-before',
          '2020-01-01T00:00:00Z',
          '--not-after',
          '2021-01-01T00:00:00Z',
        ],
        state,
      ).code,
    ).toBe(0);
    expect(
      amoskys(
        [
          'keys',
          'add',
          '--public-key',
          publicKeyOfSeed(5),
          '--device',
          'r1',
          '--key-id',
          'pending',
          '--not-before',
          '2999-01-01T00:00:00Z',
        ],
        state,
      ).code,
    ).toBe(0);
    const replaced = [
      'keys',
      'add',
      '--public-key',
      publicKeyOfSeed(6),
      '--device',
      'r1',
      '--key-id',
      'replaced',
    ];
    expect(amoskys([...replaced, '--not-before', '2026-01-01T00:00:00Z'], state).code).toBe(0);
    const retired = amoskys(
      ['keys', 'retire', '--key-id', 'replaced', '--at', '2026-06-01T00:00:00Z', '--json'],
      state,
    );
    expect(retired.code, retired.stderr).toBe(0);
    expect(JSON.parse(retired.stdout)).toMatchObject({
      notAfter: '2026-06-01T00:00:00.000Z',
      trustStoreChange: 'retired',
    });
    const listed = JSON.parse(amoskys(['keys', 'list', '--json'], state).stdout) as {
      keys: { keyId: string; status: string }[];
    };
    expect(listed.keys.map((k) => [k.keyId, k.status])).toEqual([
      ['retired', 'retired'],
      ['pending', 'pending'],
      ['replaced', 'retired'],
    ]);
  });
});
