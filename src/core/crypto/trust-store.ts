/**
 * The trust-store file: public keys the processor accepts signatures from, and the devices each
 * key may sign for. Public data (mode 0644), one file:
 *
 *   { "format": "amoskys.trust-store.v1",
 *     "keys": [ { "keyId": "edge-1", "publicKey": "<base64, 32 bytes>", "devices": ["router-1"],
 *                 "notBefore": "2026-11-29T10:00:00.000Z" } ] }
 *
 * `amoskys keys generate` adds an entry per key. The processor (issue 4) reads the file and owns
 * the rest of the trust model (validity end, revocation, rotation); fields this module does not
 * know are kept as they are when it rewrites the file.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KeyFileError } from '../errors/index.ts';
import { publicKeyProblem } from './ed25519.ts';
import { keyIdPattern, writeJsonFile } from './key-file.ts';

/** Value of the `format` field of a trust-store file. */
export const TRUST_STORE_FORMAT = 'amoskys.trust-store.v1';

const entrySchema = z.looseObject({
  keyId: z.string().regex(keyIdPattern),
  publicKey: z.string().refine((s) => Buffer.from(s, 'base64').length === 32, 'expected 32 bytes of base64'),
  devices: z.array(z.string().min(1)).min(1),
  notBefore: z.iso.datetime(),
});

const storeSchema = z.looseObject({
  format: z.literal(TRUST_STORE_FORMAT),
  keys: z.array(entrySchema),
});

/** One trusted key. */
export type TrustStoreEntry = z.infer<typeof entrySchema>;

/** The trust-store document. */
export type TrustStoreDocument = z.infer<typeof storeSchema>;

/**
 * Reads a trust store; a missing file is an empty store.
 * @throws KeyFileError when the file exists but is not a valid trust store.
 */
export function readTrustStore(file: string): TrustStoreDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { format: TRUST_STORE_FORMAT, keys: [] };
    throw new KeyFileError(`cannot read trust store ${file}: ${(cause as Error).message}`, { file }, cause);
  }
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

/** What {@link addTrustedKey} did. */
export type TrustStoreChange = 'added' | 'replaced' | 'unchanged';

/** Options of {@link addTrustedKey}. */
export interface AddTrustedKeyOptions {
  /** Replace an entry with the same key id but a different key or devices. @default false */
  replace?: boolean;
}

/**
 * Adds a key to the trust store file (creating the file), refusing public keys that are not the
 * canonical encoding of a prime-order point (small-order keys make forgeries trivial).
 * @throws KeyFileError for an unacceptable key, or a different key under the same id without `replace`.
 */
export function addTrustedKey(
  file: string,
  entry: TrustStoreEntry,
  options: AddTrustedKeyOptions = {},
): TrustStoreChange {
  const problem = publicKeyProblem(new Uint8Array(Buffer.from(entry.publicKey, 'base64')));
  if (problem !== undefined) {
    throw new KeyFileError(`public key of ${entry.keyId} refused: ${problem}`, {
      keyId: entry.keyId,
      problem,
    });
  }
  const store = readTrustStore(file);
  const index = store.keys.findIndex((k) => k.keyId === entry.keyId);
  let change: TrustStoreChange = 'added';
  if (index >= 0) {
    const current = store.keys[index] as TrustStoreEntry;
    const same =
      current.publicKey === entry.publicKey &&
      JSON.stringify([...current.devices].sort()) === JSON.stringify([...entry.devices].sort());
    if (same) return 'unchanged';
    if (options.replace !== true) {
      throw new KeyFileError(
        `trust store ${file} already has a different key ${entry.keyId}; use --force to replace it`,
        { file, keyId: entry.keyId },
      );
    }
    store.keys[index] = { ...current, ...entry };
    change = 'replaced';
  } else {
    store.keys.push(entry);
  }
  writeJsonFile(file, store, { force: true, mode: 0o644, what: 'trust store' });
  return change;
}
