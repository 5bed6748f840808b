/**
 * Device signing keys on disk. One JSON file per key, readable by its owner only (mode 0600):
 *
 *   { "format": "amoskys.ed25519-key.v1", "keyId": "edge-1", "algorithm": "Ed25519",
 *     "devices": ["router-1"], "createdAt": "2026-11-29T10:00:00.000Z",
 *     "publicKey": "<base64, 32 bytes>", "privateKey": "<base64, 32-byte RFC 8032 secret key>" }
 *
 * The private key is the raw RFC 8032 secret (the seed), which node:crypto and @noble/ed25519 both
 * take; the public key is stored too so that a file whose halves do not match is refused on load.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KeyFileError } from '../errors/index.ts';
import {
  createSigner,
  ED25519_SECRET_KEY_BYTES,
  type Ed25519Implementation,
  publicKeyOf,
  type Signer,
} from './ed25519.ts';

/** Value of the `format` field of a key file. */
export const KEY_FILE_FORMAT = 'amoskys.ed25519-key.v1';

/** Key ids name files and appear in every envelope: short, no path separators, no spaces. */
export const keyIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const base64Bytes = (length: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64')
    .refine((s) => Buffer.from(s, 'base64').length === length, `expected ${length} bytes of base64`);

const keyFileSchema = z.strictObject({
  format: z.literal(KEY_FILE_FORMAT),
  keyId: z.string().regex(keyIdPattern, 'expected a key id of letters, digits, ".", "_", "-"'),
  algorithm: z.literal('Ed25519'),
  devices: z.array(z.string().min(1)).min(1),
  createdAt: z.iso.datetime(),
  publicKey: base64Bytes(32),
  privateKey: base64Bytes(32),
});

/** The JSON document of a key file. */
export type KeyFileDocument = z.infer<typeof keyFileSchema>;

/** A signing key in memory. */
export interface SigningKey {
  keyId: string;
  /** Device ids this key may sign for; the trust store holds the same list. */
  devices: string[];
  /** When the key was made, ISO 8601 UTC. */
  createdAt: string;
  /** 32 bytes. */
  publicKey: Uint8Array;
  /** 32-byte RFC 8032 secret key. Never logged, never printed. */
  secretKey: Uint8Array;
}

/** Options of {@link generateSigningKey}. */
export interface GenerateKeyOptions {
  keyId: string;
  devices: readonly string[];
  /** @default new Date() */
  now?: Date;
  /** 32 bytes; for fixtures and tests only. @default 32 random bytes */
  secretKey?: Uint8Array;
}

/** Makes a new key (random unless `secretKey` is given). Throws KeyFileError on a bad key id or device list. */
export function generateSigningKey(options: GenerateKeyOptions): SigningKey {
  if (!keyIdPattern.test(options.keyId)) {
    throw new KeyFileError(
      `invalid key id "${options.keyId}": use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { keyId: options.keyId },
    );
  }
  const devices = [...new Set(options.devices)];
  if (devices.length === 0 || devices.some((d) => d.length === 0)) {
    throw new KeyFileError('a key needs at least one non-empty device id', { keyId: options.keyId });
  }
  const secretKey = options.secretKey ?? new Uint8Array(randomBytes(ED25519_SECRET_KEY_BYTES));
  return {
    keyId: options.keyId,
    devices,
    createdAt: (options.now ?? new Date()).toISOString(),
    publicKey: publicKeyOf(secretKey),
    secretKey: Uint8Array.from(secretKey),
  };
}

/** The JSON document of a key. */
export function toKeyFileDocument(key: SigningKey): KeyFileDocument {
  return {
    format: KEY_FILE_FORMAT,
    keyId: key.keyId,
    algorithm: 'Ed25519',
    devices: [...key.devices],
    createdAt: key.createdAt,
    publicKey: Buffer.from(key.publicKey).toString('base64'),
    privateKey: Buffer.from(key.secretKey).toString('base64'),
  };
}

/**
 * Parses a key file document and checks that its public key belongs to its private key.
 * @throws KeyFileError naming the file and the first invalid field.
 */
export function parseKeyFileDocument(document: unknown, file = '(key file)'): SigningKey {
  const parsed = keyFileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') || '(root)';
    throw new KeyFileError(`key file ${file} is invalid at ${where}: ${issue?.message}`, { file });
  }
  const doc = parsed.data;
  const secretKey = new Uint8Array(Buffer.from(doc.privateKey, 'base64'));
  const publicKey = new Uint8Array(Buffer.from(doc.publicKey, 'base64'));
  if (!Buffer.from(publicKeyOf(secretKey)).equals(publicKey)) {
    throw new KeyFileError(`key file ${file}: publicKey does not belong to privateKey`, {
      file,
      keyId: doc.keyId,
    });
  }
  return { keyId: doc.keyId, devices: doc.devices, createdAt: doc.createdAt, publicKey, secretKey };
}

/** A signer for a loaded key. @default implementation 'node' (see docs/security.md) */
export function signerFor(key: SigningKey, implementation?: Ed25519Implementation): Signer {
  return createSigner(key.keyId, key.secretKey, implementation);
}

/** A key read from disk, with problems that do not stop its use. */
export interface LoadedKeyFile {
  key: SigningKey;
  /** E.g. a private key file readable by group or others. */
  warnings: string[];
}

/**
 * Reads and validates a key file. A file readable by group or others gives a warning rather than
 * an error: Kubernetes mounts Secrets 0644 unless told otherwise, and a producer that refuses to
 * start helps nobody; the warning says how to fix it.
 * @throws KeyFileError when the file is missing, not JSON, or invalid.
 */
export function readKeyFile(file: string): LoadedKeyFile {
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode & 0o777;
  } catch (cause) {
    throw new KeyFileError(`cannot read key file ${file}: ${(cause as Error).message}`, { file }, cause);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new KeyFileError(`key file ${file} is not JSON`, { file }, cause);
  }
  const key = parseKeyFileDocument(document, file);
  const warnings =
    (mode & 0o077) !== 0
      ? [
          `key file ${file} has mode ${mode.toString(8).padStart(4, '0')}; the private key should be readable by its owner only (chmod 600)`,
        ]
      : [];
  return { key, warnings };
}

/** Options of {@link writeKeyFile}. */
export interface WriteKeyFileOptions {
  /** Replace an existing file. @default false */
  force?: boolean;
}

/**
 * Writes a key file with mode 0600 (its folder 0700 when created). The file is written under a
 * temporary name and renamed, so a reader never sees half a key.
 * @throws KeyFileError when the file exists and `force` is not set.
 */
export function writeKeyFile(file: string, key: SigningKey, options: WriteKeyFileOptions = {}): void {
  writeJsonFile(file, toKeyFileDocument(key), {
    force: options.force === true,
    mode: 0o600,
    what: 'key file',
  });
}

/** Options of {@link writeJsonFile}. */
export interface WriteJsonFileOptions {
  /** Replace an existing file. */
  force: boolean;
  /** File mode, e.g. 0o600. */
  mode: number;
  /** What the file is, for error messages ("key file"). */
  what: string;
}

/**
 * Writes JSON atomically: under a temporary name, then renamed (`force`) or hard-linked into
 * place. link() fails when the target exists, so without `force` there is no moment in which an
 * existing file is replaced. A folder that has to be created gets mode 0700.
 * @throws KeyFileError when the file exists and `force` is false, or cannot be written.
 */
export function writeJsonFile(file: string, value: unknown, options: WriteJsonFileOptions): void {
  const { force, mode, what } = options;
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    } finally {
      closeSync(fd);
    }
    if (force) renameSync(tmp, file);
    else linkSync(tmp, file);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(`${what} ${file} already exists; use --force to replace it`, { file });
    }
    throw new KeyFileError(`cannot write ${what} ${file}: ${(cause as Error).message}`, { file }, cause);
  } finally {
    rmSync(tmp, { force: true });
  }
}
