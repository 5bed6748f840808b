import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../../src/core/config/index.ts';
import { AmoskysError, ConfigError } from '../../../../src/core/errors/index.ts';
import { buildInventory, type InventoryInput, loadInventory } from '../../../../src/producers/snmp/index.ts';

const env = {
  CORE1_AUTH: 'core1-auth-pass',
  CORE1_PRIV: 'core1-priv-pass',
  LAB_COMMUNITY: 'public-lab',
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const v3 = {
  id: 'core1',
  address: '10.0.0.1',
  version: 'v3',
  user: 'amoskys',
  level: 'authPriv',
  authProtocol: 'sha256',
  authPassEnv: 'CORE1_AUTH',
  privProtocol: 'aes',
  privPassEnv: 'CORE1_PRIV',
} as const;

describe('buildInventory', () => {
  it('applies defaults and resolves secrets from the environment', () => {
    const { devices } = buildInventory(
      {
        defaults: { intervalSeconds: 30, retries: 2 },
        devices: [
          v3,
          {
            id: 'lab-1',
            address: 'lab-1.example.net',
            version: 'v2c',
            communityEnv: 'LAB_COMMUNITY',
            port: 1161,
          },
        ],
      },
      { env },
    );
    expect(devices).toEqual([
      {
        id: 'core1',
        address: '10.0.0.1',
        port: 161,
        credentials: {
          version: 'v3',
          user: 'amoskys',
          level: 'authPriv',
          authProtocol: 'sha256',
          authPass: 'core1-auth-pass',
          privProtocol: 'aes',
          privPass: 'core1-priv-pass',
        },
        intervalSeconds: 30,
        profile: 'default',
        timeoutMs: 1000,
        retries: 2,
        deadlineMs: 24_000,
      },
      {
        id: 'lab-1',
        address: 'lab-1.example.net',
        port: 1161,
        credentials: { version: 'v2c', community: 'public-lab' },
        intervalSeconds: 30,
        profile: 'default',
        timeoutMs: 1000,
        retries: 2,
        deadlineMs: 24_000,
      },
    ]);
  });

  it('names the device and the variable when a secret is missing', () => {
    const err = configError(() =>
      buildInventory({ devices: [v3] }, { env: { CORE1_AUTH: 'core1-auth-pass' } }),
    );
    expect(err.issues).toEqual([
      {
        path: 'devices.0.privPassEnv',
        message: 'device core1: environment variable CORE1_PRIV is not set',
        value: 'CORE1_PRIV',
        source: 'code',
      },
    ]);
    expect(err.message).toContain(
      'devices.0.privPassEnv: device core1: environment variable CORE1_PRIV is not set',
    );
  });

  it('reports schema errors with the device id and path, and never echoes a secret', () => {
    const err = configError(() =>
      buildInventory(
        {
          devices: [
            { id: 'ok-1', address: '10.0.0.2', version: 'v2c', community: 'x' },
            { id: 'bad id!', address: '10.0.0.3', version: 'v2c', community: 'x' },
            { ...v3, id: 'core2', authProtocol: 'md4', authPass: 'hunter2-secret' },
            { id: 'x', address: '10.0.0.4', version: 'v1', community: 'x' },
          ],
        },
        { env },
      ),
    );
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i]));
    expect(byPath['devices.1.id']?.message).toMatch(/^device bad id!: expected an id/);
    expect(byPath['devices.2.authProtocol']?.message).toMatch(/^device core2: /);
    expect(byPath['devices.3.version']?.message).toMatch(/^device x: /);
    expect(JSON.stringify(err.issues)).not.toContain('hunter2');
  });

  it('rejects duplicates, unknown profiles, deadlines not below the interval, and mixed-up v3 levels', () => {
    const err = configError(() =>
      buildInventory(
        {
          devices: [
            { id: 'a', address: '10.0.0.1', version: 'v2c', community: 'c' },
            { id: 'a', address: '10.0.0.2', version: 'v2c', community: 'c', profile: 'nope' },
            {
              id: 'b',
              address: '10.0.0.3',
              version: 'v2c',
              community: 'c',
              intervalSeconds: 10,
              deadlineMs: 10_000,
            },
            { ...v3, id: 'c', level: 'authNoPriv' },
            { id: 'd', address: '10.0.0.5', version: 'v2c' },
          ],
        },
        { env },
      ),
    );
    expect(err.issues.map((i) => [i.path, i.message])).toEqual([
      ['devices.1.id', 'device a: duplicate id (also devices.0)'],
      ['devices.1.profile', 'device a: unknown profile (known: default)'],
      ['devices.2.deadlineMs', 'device b: must be below the interval (10000 ms)'],
      ['devices.3.level', 'device c: privacy settings given but level is authNoPriv'],
      ['devices.4.communityEnv', 'device d: SNMPv2c needs community or communityEnv'],
    ]);
  });

  it('refuses short passphrases (RFC 3414 needs 8 characters)', () => {
    const err = configError(() =>
      buildInventory({ devices: [v3] }, { env: { ...env, CORE1_AUTH: 'short' } }),
    );
    expect(err.issues[0]?.message).toBe('device core1: passphrase shorter than 8 characters (RFC 3414)');
  });
});

describe('loadInventory', () => {
  const tmp = () => mkdtempSync(path.join(tmpdir(), 'amoskys-inventory-'));

  it('loads the example inventory with its variables set', () => {
    const { devices } = loadInventory(path.join(repoRoot, 'config/devices.example.yaml'), {
      env: {
        AMOSKYS_SNMP_COMMUNITY: 'amoskys',
        AMOSKYS_SNMP_V3_AUTH_PASS: 'amoskys-auth-pass',
        AMOSKYS_SNMP_V3_PRIV_PASS: 'amoskys-priv-pass',
      },
    });
    expect(devices.map((d) => [d.id, d.credentials.version, d.intervalSeconds])).toEqual([
      ['local-snmpd', 'v2c', 60],
      ['local-snmpd-v3', 'v3', 30],
    ]);
  });

  it('refuses SNMPv3 passphrases written in the file, naming the file', () => {
    const file = path.join(tmp(), 'devices.yaml');
    const doc: InventoryInput = {
      devices: [{ ...v3, authPassEnv: undefined, authPass: 'in-the-file-pass' }],
    };
    writeFileSync(file, JSON.stringify(doc));
    const err = configError(() => loadInventory(file, { env }));
    expect(err.issues[0]).toMatchObject({
      path: 'devices.0.authPass',
      message: 'device core1: passphrases do not belong in the file: name a variable with authPassEnv',
      value: '***',
      source: `file ${file}`,
    });
    expect(err.message).not.toContain('in-the-file-pass');
  });

  it('says which file cannot be parsed', () => {
    const file = path.join(tmp(), 'broken.yaml');
    writeFileSync(file, 'devices: [ {');
    expect(() => loadInventory(file)).toThrow(AmoskysError);
    expect(() => loadInventory(file)).toThrow(file);
  });
});
