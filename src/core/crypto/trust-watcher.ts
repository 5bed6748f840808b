/**
 * Keeps a trust store current (processor, sink) without a restart: loads the trust-store file, and
 * reloads it when it changes, so keys are added, rotated and revoked while the stage runs.
 *
 * Changes are noticed two ways: fs.watch on the file's folder (the CLI replaces the file by
 * renaming a temporary one over it, and a Kubernetes ConfigMap swaps a `..data` symlink, so the
 * folder is watched rather than the file), and a periodic re-check of the file's identity (inode,
 * size, mtime, ctime) for filesystems where fs.watch says nothing (network mounts, some container
 * volumes). A changed file is read, hashed and parsed; an unchanged hash is no change. A file that
 * does not parse, or disappears, leaves the last good snapshot in force and is logged once.
 */
import { type FSWatcher, readFileSync, statSync, watch } from 'node:fs';
import path from 'node:path';
import { createLogger, type Logger } from '../logging/index.ts';
import {
  emptyTrustSnapshot,
  parseTrustStore,
  type TrustSnapshot,
  toTrustSnapshot,
  trustStoreHash,
} from './trust-store.ts';

/** Options of {@link TrustStoreWatcher}. */
export interface TrustStoreWatcherOptions {
  /** The trust-store file (`amoskys keys add|revoke|list` edit it). */
  file: string;
  /** @default a silent logger */
  logger?: Logger;
  /** How often the file is re-checked in case fs.watch missed a change, ms. @default 2000 */
  pollIntervalMs?: number;
  /** Bursts of fs.watch events within this time cause one reload, ms. @default 50 */
  debounceMs?: number;
  /** Watch the folder with fs.watch; off leaves only the periodic re-check. @default true */
  watch?: boolean;
}

/** Called with the new snapshot after every successful reload that changed the trust store. */
export type TrustChangeListener = (snapshot: TrustSnapshot) => void;

/**
 * Loads a trust-store file and keeps a {@link TrustSnapshot} of it current.
 *
 * ```ts
 * const trust = new TrustStoreWatcher({ file, logger });
 * trust.start();                                    // throws KeyFileError for an invalid file
 * const unsubscribe = trust.onChange((snapshot) => pool.postToAll({ trust: snapshot }));
 * validateMessage(value, { trust: trust.snapshot, ... });
 * trust.close();
 * ```
 */
export class TrustStoreWatcher {
  readonly file: string;
  readonly #log: Logger;
  readonly #pollIntervalMs: number;
  readonly #debounceMs: number;
  readonly #watch: boolean;
  readonly #listeners = new Set<TrustChangeListener>();
  #snapshot: TrustSnapshot = emptyTrustSnapshot();
  /** Identity of the file at the last read: `ino:size:mtime:ctime`, or 'missing'. */
  #identity = '';
  /** What the last failed reload failed on, so that each failure is logged once. */
  #failure: string | undefined;
  #fsWatcher: FSWatcher | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #debounceTimer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;

  constructor(options: TrustStoreWatcherOptions) {
    this.file = path.resolve(options.file);
    this.#log = (options.logger ?? createLogger({ level: 'silent' })).child({
      component: 'trust-store',
      file: this.file,
    });
    this.#pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.#debounceMs = options.debounceMs ?? 50;
    this.#watch = options.watch ?? true;
  }

  /** The trust store in force. Replaced, never mutated, on each change. */
  get snapshot(): TrustSnapshot {
    return this.#snapshot;
  }

  /**
   * Loads the file and starts watching it. A missing file is an empty trust store (every
   * envelope is then rejected as `unknown_key` until keys are added) and is logged as a warning.
   * Idempotent.
   * @returns the snapshot in force
   * @throws KeyFileError when the file exists but is not a valid trust store: a processor must not
   *   start on a trust store it cannot read.
   */
  start(): TrustSnapshot {
    if (this.#started || this.#closed) return this.#snapshot;
    const identity = this.#identityOf();
    if (identity === 'missing') {
      this.#identity = identity;
      this.#log.warn('trust store file does not exist: no envelope will verify until keys are added');
    } else {
      const text = readFileSync(this.file, 'utf8');
      this.#snapshot = toTrustSnapshot(parseTrustStore(text, this.file), trustStoreHash(text));
      this.#identity = identity;
      this.#log.info(
        { keys: Object.keys(this.#snapshot.keys).length, sha256: this.#snapshot.sha256 },
        'trust store loaded',
      );
    }
    this.#started = true;
    if (this.#watch) this.#startFsWatch();
    this.#pollTimer = setInterval(() => this.check({ force: false }), this.#pollIntervalMs);
    this.#pollTimer.unref();
    return this.#snapshot;
  }

  /**
   * Subscribes to changes. Listeners run synchronously after the snapshot was replaced; one that
   * throws is logged and does not stop the others.
   * @returns a function that unsubscribes
   */
  onChange(listener: TrustChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Re-reads the file now (also what a SIGHUP handler would call).
   * @param options.force read even when the file's identity looks unchanged @default true
   * @returns whether the snapshot changed
   */
  check(options: { force?: boolean } = {}): boolean {
    if (this.#closed || !this.#started) return false;
    const force = options.force ?? true;
    let identity: string;
    try {
      identity = this.#identityOf();
    } catch (err) {
      this.#failed(`stat:${(err as Error).message}`, err, 'cannot stat the trust store file');
      return false;
    }
    if (!force && identity === this.#identity) return false;
    this.#identity = identity;
    if (identity === 'missing') {
      this.#failed('missing', undefined, 'trust store file disappeared; keeping the last good trust store');
      return false;
    }
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      this.#failed(`read:${(err as Error).message}`, err, 'cannot read the trust store file');
      return false;
    }
    const sha256 = trustStoreHash(text);
    if (sha256 === this.#snapshot.sha256) {
      this.#recovered();
      return false;
    }
    let snapshot: TrustSnapshot;
    try {
      snapshot = toTrustSnapshot(parseTrustStore(text, this.file), sha256);
    } catch (err) {
      this.#failed(`parse:${sha256}`, err, 'trust store reload failed; keeping the last good trust store');
      return false;
    }
    this.#recovered();
    this.#snapshot = snapshot;
    this.#log.info({ keys: Object.keys(snapshot.keys).length, sha256 }, 'trust store reloaded');
    for (const listener of this.#listeners) {
      try {
        listener(snapshot);
      } catch (err) {
        this.#log.error({ err }, 'trust store change listener failed');
      }
    }
    return true;
  }

  /** Stops watching. Safe to call twice; the last snapshot stays readable. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fsWatcher?.close();
    this.#fsWatcher = undefined;
    clearInterval(this.#pollTimer);
    clearTimeout(this.#debounceTimer);
    this.#listeners.clear();
  }

  #identityOf(): string {
    try {
      // stat follows symlinks: a ConfigMap's swapped `..data` link shows as a new inode.
      const s = statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw err;
    }
  }

  #startFsWatch(): void {
    try {
      this.#fsWatcher = watch(path.dirname(this.file), { persistent: false }, () => this.#schedule());
      this.#fsWatcher.on('error', (err) => {
        this.#log.warn({ err }, 'fs.watch failed; relying on the periodic re-check');
        this.#fsWatcher?.close();
        this.#fsWatcher = undefined;
      });
    } catch (err) {
      // E.g. the folder does not exist yet: the periodic re-check notices the file once it does.
      this.#log.warn({ err }, 'cannot fs.watch the trust store folder; relying on the periodic re-check');
    }
  }

  #schedule(): void {
    if (this.#closed || this.#debounceTimer !== undefined) return;
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = undefined;
      this.check({ force: true });
    }, this.#debounceMs);
    this.#debounceTimer.unref();
  }

  #failed(what: string, err: unknown, message: string): void {
    if (this.#failure === what) return;
    this.#failure = what;
    this.#log.error(err === undefined ? {} : { err }, message);
  }

  #recovered(): void {
    if (this.#failure === undefined) return;
    this.#failure = undefined;
    this.#log.info('trust store file is valid again');
  }
}
