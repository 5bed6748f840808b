import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  TRUST_STORE_FORMAT,
  type TrustSnapshot,
  type TrustStoreDocument,
  type TrustStoreEntry,
  TrustStoreWatcher,
  writeTrustStore,
} from '../../../../src/core/crypto/index.ts';
import { KeyFileError } from '../../../../src/core/errors/index.ts';
import { createLogger } from '../../../../src/core/logging/index.ts';
import { waitFor } from '../../../helpers/wait.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-trust-watch-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const entry = (keyId: string, seed: number): TrustStoreEntry => ({
  keyId,
  publicKey: Buffer.from(
    generateSigningKey({ keyId, devices: ['router-1'], secretKey: new Uint8Array(32).fill(seed) }).publicKey,
  ).toString('base64'),
  devices: ['router-1'],
  notBefore: '2026-11-29T10:00:00.000Z',
});

const store = (...entries: TrustStoreEntry[]): TrustStoreDocument => ({
  format: TRUST_STORE_FORMAT,
  keys: entries,
});

/** A logger whose JSON lines are collected. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

function watcher(options: ConstructorParameters<typeof TrustStoreWatcher>[0]): TrustStoreWatcher {
  const w = new TrustStoreWatcher(options);
  cleanups.push(() => w.close());
  return w;
}

/** The next snapshot the watcher announces. */
const nextChange = (w: TrustStoreWatcher) =>
  new Promise<TrustSnapshot>((resolve) => {
    const off = w.onChange((snapshot) => {
      off();
      resolve(snapshot);
    });
  });

describe('TrustStoreWatcher', () => {
  it('loads the file and announces a rewritten one (fs.watch)', async () => {
    const file = path.join(tempDir(), 'trust-store.json');
    writeTrustStore(file, store(entry('old', 1)));
    const w = watcher({ file, pollIntervalMs: 60_000 });
    expect(Object.keys(w.start().keys)).toEqual(['old']);

    const changed = nextChange(w);
    writeTrustStore(file, store(entry('old', 1), entry('new', 2)));
    const snapshot = await changed;
    expect(Object.keys(snapshot.keys).sort()).toEqual(['new', 'old']);
    expect(w.snapshot).toBe(snapshot);
  });

  it('notices changes by the periodic re-check alone, e.g. when fs.watch is silent', async () => {
    const file = path.join(tempDir(), 'trust-store.json');
    writeTrustStore(file, store(entry('a', 1)));
    const w = watcher({ file, watch: false, pollIntervalMs: 20 });
    w.start();
    const changed = nextChange(w);
    writeTrustStore(file, store(entry('b', 2)));
    expect(Object.keys((await changed).keys)).toEqual(['b']);
  });

  it('keeps the last good snapshot when the file turns invalid, logs that once, and recovers', async () => {
    const file = path.join(tempDir(), 'trust-store.json');
    writeTrustStore(file, store(entry('a', 1)));
    const { logger, lines } = capturedLogger();
    const w = watcher({ file, logger, pollIntervalMs: 60_000 });
    const first = w.start();

    writeFileSync(file, '{ "format": "amoskys.trust-store.v1", "keys": [ {');
    const failures = () =>
      lines.filter((l) => l.msg === 'trust store reload failed; keeping the last good trust store');
    await waitFor(() => failures().length === 1, {
      description: 'the reload failure to be logged',
      timeoutMs: 10_000,
    });
    expect(w.check()).toBe(false);
    expect(w.check()).toBe(false);
    expect(failures()).toHaveLength(1);
    expect(failures()[0]?.err).toMatchObject({ message: expect.stringMatching(/is not JSON/) });
    expect(w.snapshot).toBe(first);

    const changed = nextChange(w);
    writeTrustStore(file, store(entry('a', 1), entry('c', 3)));
    expect(Object.keys((await changed).keys)).toEqual(['a', 'c']);
    expect(lines.some((l) => l.msg === 'trust store file is valid again')).toBe(true);
  });

  it('keeps the last good snapshot when the file disappears', () => {
    const file = path.join(tempDir(), 'trust-store.json');
    writeTrustStore(file, store(entry('a', 1)));
    const w = watcher({ file, watch: false, pollIntervalMs: 60_000 });
    const first = w.start();
    rmSync(file);
    expect(w.check()).toBe(false);
    expect(w.snapshot).toBe(first);
  });

  it('does not announce a rewrite with identical content', () => {
    const file = path.join(tempDir(), 'trust-store.json');
    writeTrustStore(file, store(entry('a', 1)));
    const w = watcher({ file, watch: false, pollIntervalMs: 60_000 });
    w.start();
    let calls = 0;
    w.onChange(() => calls++);
    writeTrustStore(file, store(entry('a', 1)));
    expect(w.check()).toBe(false);
    writeTrustStore(file, store(entry('b', 2)));
    expect(w.check()).toBe(true);
    expect(calls).toBe(1);
  });

  it('starts empty on a missing file and picks the file up once it appears, folder included', async () => {
    const dir = path.join(tempDir(), 'not-yet');
    const file = path.join(dir, 'trust-store.json');
    const w = watcher({ file, pollIntervalMs: 20 });
    expect(w.start().keys).toEqual({});
    const changed = nextChange(w);
    mkdirSync(dir);
    writeTrustStore(file, store(entry('a', 1)));
    expect(Object.keys((await changed).keys)).toEqual(['a']);
  });

  it('refuses to start on an invalid file', () => {
    const file = path.join(tempDir(), 'trust-store.json');
    writeFileSync(file, JSON.stringify({ format: 'nope', keys: [] }));
    expect(() => watcher({ file }).start()).toThrow(KeyFileError);
  });

  it('isolates a failing listener and closes idempotently', () => {
    const file = path.join(tempDir(), 'trust-store.json');
    writeTrustStore(file, store(entry('a', 1)));
    const w = watcher({ file, watch: false, pollIntervalMs: 60_000 });
    w.start();
    const seen: string[][] = [];
    w.onChange(() => {
      throw new Error('listener bug');
    });
    w.onChange((s) => seen.push(Object.keys(s.keys)));
    writeTrustStore(file, store(entry('b', 2)));
    expect(w.check()).toBe(true);
    expect(seen).toEqual([['b']]);
    w.close();
    w.close();
    writeTrustStore(file, store(entry('c', 3)));
    expect(w.check()).toBe(false);
    expect(Object.keys(w.snapshot.keys)).toEqual(['b']);
  });
});
