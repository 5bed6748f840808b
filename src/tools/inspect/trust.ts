/**
 * The trust store, read once: `inspect` and `import legacy-wal` report signature status against
 * the same file the processor watches, without watching it (they run for seconds).
 */
import { readFileSync } from 'node:fs';
import {
  emptyTrustSnapshot,
  parseTrustStore,
  type TrustSnapshot,
  toTrustSnapshot,
  trustStoreHash,
} from '../../core/crypto/index.ts';

/** A trust store as read for a tool. */
export interface LoadedTrust {
  /** Absolute path of the file. */
  file: string;
  /** False when the file does not exist: every key is then unknown. */
  found: boolean;
  snapshot: TrustSnapshot;
}

/**
 * Reads a trust-store file; a missing file is an empty trust store (`found: false`).
 * @throws KeyFileError when the file exists but is not a valid trust store
 */
export function readTrustSnapshot(file: string): LoadedTrust {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { file, found: false, snapshot: emptyTrustSnapshot() };
    }
    throw err;
  }
  return { file, found: true, snapshot: toTrustSnapshot(parseTrustStore(text, file), trustStoreHash(text)) };
}
