/**
 * The trust-store file: public keys the processor accepts signatures from, the devices each key
 * may sign for, when each key is valid and whether it was revoked. Public data (mode 0644), one
 * file, always rewritten atomically (temporary file + rename) so a watcher never reads half of it:
 *
 *   { "format": "amoskys.trust-store.v1",
 *     "keys": [ { "keyId": "edge-1", "publicKey": "<base64, 32 bytes>", "devices": ["router-1"],
 *                 "notBefore": "2026-11-29T10:00:00.000Z",
 *                 "notAfter": "2027-11-29T10:00:00.000Z",            (optional: retirement)
 *                 "revokedAt": "2026-12-01T08:00:00.000Z",           (optional: compromise)
 *                 "revocationReason": "laptop stolen" } ] }          (optional)
 *
 * `amoskys keys generate|add|revoke` write it; the processor reads it into a {@link TrustSnapshot}
 * (plain data, so it can be posted to worker threads) and reloads it when it changes. Fields this
 * module does not know are kept as they are when it rewrites the file. docs/security.md explains
 * the difference between retiring (`notAfter`) and revoking (`revokedAt`) a key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KeyFileError } from '../errors/index.ts';
import { publicKeyProblem, publicKeyProblemText } from './ed25519.ts';
import { keyIdPattern, writeJsonFile } from './key-file.ts';

/** Value of the `format` field of a trust-store file. */
export const TRUST_STORE_FORMAT = 'amoskys.trust-store.v1';

const entrySchema = z
  .looseObject({
    keyId: z.string().regex(keyIdPattern),
    publicKey: z
      .string()
      .refine((s) => Buffer.from(s, 'base64').length === 32, 'expected 32 bytes of base64'),
    devices: z.array(z.string().min(1)).min(1),
    /** First instant the key may sign at (envelope `ts_ns`), ISO 8601 UTC. */
    notBefore: z.iso.datetime(),
    /** The key is retired from this instant on (envelope `ts_ns`), ISO 8601 UTC. */
    notAfter: z.iso.datetime().optional(),
    /** The key is revoked from this instant on (envelope `ts_ns` or processing time), ISO 8601 UTC. */
    revokedAt: z.iso.datetime().optional(),
    /** Why the key was revoked, for people. */
    revocationReason: z.string().optional(),
  })
  .refine((e) => e.notAfter === undefined || Date.parse(e.notAfter) > Date.parse(e.notBefore), {
    message: 'notAfter must be later than notBefore',
    path: ['notAfter'],
  });

const storeSchema = z.looseObject({
  format: z.literal(TRUST_STORE_FORMAT),
  keys: z.array(entrySchema),
});

/** One trusted key, as the file holds it. */
export type TrustStoreEntry = z.infer<typeof entrySchema>;

/** The trust-store document. */
export type TrustStoreDocument = z.infer<typeof storeSchema>;

/** An empty trust-store document. */
export function emptyTrustStore(): TrustStoreDocument {
  return { format: TRUST_STORE_FORMAT, keys: [] };
}

/**
 * Parses the text of a trust-store file.
 * @param file named in error messages
 * @throws KeyFileError when the text is not JSON or not a valid trust store.
 */
export function parseTrustStore(text: string, file: string): TrustStoreDocument {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new KeyFileError(`trust store ${file} is not JSON`, { file }, cause);
  }
  const parsed = storeSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') || '(root)';
    throw new KeyFileError(`trust store ${file} is invalid at ${where}: ${issue?.message}`, { file });
  }
  const ids = parsed.data.keys.map((k) => k.keyId);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate !== undefined) {
    throw new KeyFileError(`trust store ${file} lists key ${duplicate} twice`, { file, keyId: duplicate });
  }
  return parsed.data;
}

/**
 * Reads a trust store; a missing file is an empty store.
 * @throws KeyFileError when the file exists but is not a valid trust store.
 */
export function readTrustStore(file: string): TrustStoreDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return emptyTrustStore();
    throw new KeyFileError(`cannot read trust store ${file}: ${(cause as Error).message}`, { file }, cause);
  }
  return parseTrustStore(text, file);
}

/** Writes a whole trust store atomically (temporary file + rename), mode 0644. */
export function writeTrustStore(file: string, store: TrustStoreDocument): void {
  writeJsonFile(file, store, { force: true, mode: 0o644, what: 'trust store' });
}

/** What a change to the trust store did. */
export type TrustStoreChange = 'added' | 'replaced' | 'unchanged' | 'revoked' | 'retired';

/** Options of {@link addTrustedKey}. */
export interface AddTrustedKeyOptions {
  /**
   * Replace an entry with the same key id but a different key, devices or validity window. A
   * revoked key is never trusted again, replace or not.
   * @default false
   */
  replace?: boolean;
}

const keyBytes = (base64: string): Buffer => Buffer.from(base64, 'base64');
const sameDevices = (a: readonly string[], b: readonly string[]): boolean =>
  JSON.stringify([...new Set(a)].sort()) === JSON.stringify([...new Set(b)].sort());

/**
 * Adds a key to the trust store file (creating the file). Refuses:
 * - public keys that are not the canonical encoding of a prime-order point (`publicKeyProblem`:
 *   small-order keys make forgeries trivial, mixed-order keys verify depending on the message);
 * - a public key the store already holds under another key id (revoking one id would leave the
 *   key trusted under the other);
 * - a revoked key, ever again (generate a new one);
 * - without `replace`, a different key, device list or validity window under an existing id.
 * Adding an identical entry again is `unchanged`.
 * @throws KeyFileError saying which of these applies.
 */
export function addTrustedKey(
  file: string,
  entry: TrustStoreEntry,
  options: AddTrustedKeyOptions = {},
): TrustStoreChange {
  const valid = entrySchema.safeParse(entry);
  if (!valid.success) {
    const issue = valid.error.issues[0];
    const where = issue?.path.map(String).join('.') || '(root)';
    throw new KeyFileError(`trust-store entry ${entry.keyId} is invalid at ${where}: ${issue?.message}`, {
      keyId: entry.keyId,
    });
  }
  const problem = publicKeyProblem(new Uint8Array(keyBytes(entry.publicKey)));
  if (problem !== undefined) {
    throw new KeyFileError(
      `public key of ${entry.keyId} refused: ${problem} (${publicKeyProblemText[problem]})`,
      { keyId: entry.keyId, problem },
    );
  }
  const store = readTrustStore(file);
  const publicKey = keyBytes(entry.publicKey);
  const twin = store.keys.find((k) => k.keyId !== entry.keyId && keyBytes(k.publicKey).equals(publicKey));
  if (twin !== undefined) {
    throw new KeyFileError(
      `trust store ${file} already holds this public key as key ${twin.keyId}; one key, one key id`,
      { file, keyId: entry.keyId, existingKeyId: twin.keyId },
    );
  }
  const index = store.keys.findIndex((k) => k.keyId === entry.keyId);
  if (index < 0) {
    store.keys.push(entry);
    writeTrustStore(file, store);
    return 'added';
  }
  const current = store.keys[index] as TrustStoreEntry;
  const sameKey = keyBytes(current.publicKey).equals(publicKey);
  if (sameKey && current.revokedAt !== undefined) {
    throw new KeyFileError(
      `key ${entry.keyId} was revoked at ${current.revokedAt} and cannot be trusted again; generate a new key`,
      { file, keyId: entry.keyId },
    );
  }
  if (
    sameKey &&
    sameDevices(current.devices, entry.devices) &&
    current.notBefore === entry.notBefore &&
    current.notAfter === entry.notAfter
  ) {
    return 'unchanged';
  }
  if (options.replace !== true) {
    throw new KeyFileError(
      sameKey
        ? `trust store ${file} already has key ${entry.keyId} with other devices or validity; use --force to replace them`
        : `trust store ${file} already has a different key ${entry.keyId}; use --force to replace it`,
      { file, keyId: entry.keyId },
    );
  }
  // A revocation concerned the old key: a new key under the same id starts clean. Fields this
  // module does not know are kept either way.
  const { revokedAt: _revokedAt, revocationReason: _reason, notAfter: _notAfter, ...kept } = current;
  store.keys[index] = { ...kept, ...entry };
  writeTrustStore(file, store);
  return 'replaced';
}

/** Options of {@link revokeTrustedKey}. */
export interface RevokeTrustedKeyOptions {
  keyId: string;
  /** When the revocation takes effect, ISO 8601. @default now */
  at?: string;
  /** Why, for people. */
  reason?: string;
}

/**
 * Revokes a key from `at` on. Revocations only ever move earlier: revoking an already revoked key
 * at a later instant is `unchanged`, at an earlier one moves `revokedAt` (and the reason) there.
 * @throws KeyFileError when the store has no such key or `at` is not a date.
 */
export function revokeTrustedKey(file: string, options: RevokeTrustedKeyOptions): TrustStoreChange {
  const atMs = options.at === undefined ? Date.now() : Date.parse(options.at);
  if (!Number.isFinite(atMs)) {
    throw new KeyFileError(`revocation time ${options.at} is not an ISO 8601 date`, { keyId: options.keyId });
  }
  const store = readTrustStore(file);
  const entry = store.keys.find((k) => k.keyId === options.keyId);
  if (entry === undefined) {
    throw new KeyFileError(`trust store ${file} has no key ${options.keyId}`, { file, keyId: options.keyId });
  }
  if (entry.revokedAt !== undefined && Date.parse(entry.revokedAt) <= atMs) return 'unchanged';
  entry.revokedAt = new Date(atMs).toISOString();
  if (options.reason !== undefined) entry.revocationReason = options.reason;
  writeTrustStore(file, store);
  return 'revoked';
}

/** Options of {@link retireTrustedKey}. */
export interface RetireTrustedKeyOptions {
  keyId: string;
  /** From when envelopes signed by the key are refused (envelope time), ISO 8601. @default now */
  at?: string;
}

/**
 * Retires a key from `at` on (sets `notAfter`): envelopes built before it are still accepted while
 * fresh, so what is in flight drains. Like revocations, retirements only move earlier.
 * @throws KeyFileError when the store has no such key, `at` is not a date or not after `notBefore`.
 */
export function retireTrustedKey(file: string, options: RetireTrustedKeyOptions): TrustStoreChange {
  const atMs = options.at === undefined ? Date.now() : Date.parse(options.at);
  if (!Number.isFinite(atMs)) {
    throw new KeyFileError(`retirement time ${options.at} is not an ISO 8601 date`, { keyId: options.keyId });
  }
  const store = readTrustStore(file);
  const entry = store.keys.find((k) => k.keyId === options.keyId);
  if (entry === undefined) {
    throw new KeyFileError(`trust store ${file} has no key ${options.keyId}`, { file, keyId: options.keyId });
  }
  if (entry.notAfter !== undefined && Date.parse(entry.notAfter) <= atMs) return 'unchanged';
  if (atMs <= Date.parse(entry.notBefore)) {
    throw new KeyFileError(
      `key ${options.keyId} is valid from ${entry.notBefore}; a retirement must be later (or revoke the key)`,
      { file, keyId: options.keyId },
    );
  }
  entry.notAfter = new Date(atMs).toISOString();
  writeTrustStore(file, store);
  return 'retired';
}

/**
 * One trusted key in a {@link TrustSnapshot}: plain data (a structured clone of it is itself), so
 * a snapshot can be posted to worker threads.
 */
export interface TrustedKey {
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** Device ids the key may sign for. */
  devices: string[];
  /** First instant the key may sign at (compared with the envelope's `ts_ns`), ms since the epoch. */
  notBeforeMs: number;
  /** The key is retired from this instant on (compared with the envelope's `ts_ns`), ms since the epoch. */
  notAfterMs?: number;
  /** Revoked from this instant on (envelope `ts_ns` or processing time, whichever is later), ms. */
  revokedAtMs?: number;
  /** Why it was revoked. */
  revocationReason?: string;
}

/** The trust store as the processor uses it: immutable by convention, plain data. */
export interface TrustSnapshot {
  /**
   * Keys by key id. Look keys up with {@link trustedKey}, never with `keys[id]`: key ids come from
   * the network and `keys['constructor']` is not undefined on a plain object.
   */
  keys: Record<string, TrustedKey>;
  /** SHA-256 (hex) of the file text the snapshot was made from; `''` for an empty or missing file. */
  sha256: string;
}

/** A snapshot that trusts nothing. */
export function emptyTrustSnapshot(): TrustSnapshot {
  return { keys: {}, sha256: '' };
}

/** SHA-256 (hex) of a trust store's text, as {@link TrustSnapshot.sha256} records it. */
export function trustStoreHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The snapshot of a (validated) trust-store document.
 * @param sha256 hash of the text it was parsed from @default ''
 */
export function toTrustSnapshot(store: TrustStoreDocument, sha256 = ''): TrustSnapshot {
  const keys: Record<string, TrustedKey> = {};
  for (const entry of store.keys) {
    const key: TrustedKey = {
      publicKey: new Uint8Array(keyBytes(entry.publicKey)),
      devices: [...new Set(entry.devices)],
      notBeforeMs: Date.parse(entry.notBefore),
    };
    if (entry.notAfter !== undefined) key.notAfterMs = Date.parse(entry.notAfter);
    if (entry.revokedAt !== undefined) key.revokedAtMs = Date.parse(entry.revokedAt);
    if (entry.revocationReason !== undefined) key.revocationReason = entry.revocationReason;
    keys[entry.keyId] = key;
  }
  return { keys, sha256 };
}

/** The key of a key id, or undefined; safe for any string (own properties only). */
export function trustedKey(snapshot: TrustSnapshot, keyId: string): TrustedKey | undefined {
  return Object.hasOwn(snapshot.keys, keyId) ? snapshot.keys[keyId] : undefined;
}

// Large device lists (a fleet key) are looked up through a Set built once per key object (each
// worker thread builds its own from the snapshot it was posted).
const deviceSets = new WeakMap<TrustedKey, Set<string>>();

/** Whether `key` may sign for `deviceId`; O(1) for keys bound to many devices. */
export function keyIsBound(key: TrustedKey, deviceId: string): boolean {
  if (key.devices.length <= 16) return key.devices.includes(deviceId);
  let set = deviceSets.get(key);
  if (set === undefined) {
    set = new Set(key.devices);
    deviceSets.set(key, set);
  }
  return set.has(deviceId);
}
