import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type Config, trustStoreFile } from '../../core/config/index.ts';
import {
  addTrustedKey,
  generateSigningKey,
  readKeyFile,
  readTrustStore,
  retireTrustedKey,
  revokeTrustedKey,
  type TrustStoreEntry,
  writeKeyFile,
} from '../../core/crypto/index.ts';
import { KeyFileError } from '../../core/errors/index.ts';
import { contextFor } from '../context.ts';
import { formatTable, printJson } from '../output.ts';

/** The trust-store file: `--trust-store`, else `processor.trustStore`, else `<stateDir>/keys/trust-store.json`. */
export function trustStorePath(config: Config, override: string | undefined): string {
  return path.resolve(override ?? trustStoreFile(config));
}

/** Parses an ISO 8601 date option into its canonical UTC form (usage error otherwise). */
function isoDate(value: string): string {
  // A bare date or a time without zone would be read in the local zone: require an explicit one.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new InvalidArgumentError('expected an ISO 8601 time with a zone, e.g. 2026-11-29T10:00:00Z');
  }
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`${value} is not a valid time`);
  return new Date(ms).toISOString();
}

/** Standard base64 of 32 bytes: 43 characters and one "=". */
const publicKeyBase64 = /^[A-Za-z0-9+/]{43}=$/;

/** Where a trust-store entry stands at a given time. */
export type KeyStatus = 'active' | 'pending' | 'retired' | 'revoked';

/** Status of a trust-store entry at `nowMs`. */
export function keyStatus(entry: TrustStoreEntry, nowMs: number): KeyStatus {
  if (entry.revokedAt !== undefined && Date.parse(entry.revokedAt) <= nowMs) return 'revoked';
  if (entry.notAfter !== undefined && Date.parse(entry.notAfter) <= nowMs) return 'retired';
  if (Date.parse(entry.notBefore) > nowMs) return 'pending';
  return 'active';
}

interface AddOptions {
  keyId?: string;
  publicKey?: string;
  fromKeyFile?: string;
  device?: string[];
  notBefore?: string;
  notAfter?: string;
  trustStore?: string;
  force?: boolean;
  json?: boolean;
}

interface RevokeOptions {
  keyId: string;
  at?: string;
  reason?: string;
  trustStore?: string;
  json?: boolean;
}

interface RetireOptions {
  keyId: string;
  at?: string;
  trustStore?: string;
  json?: boolean;
}

interface ListOptions {
  trustStore?: string;
  json?: boolean;
}

interface GenerateOptions {
  keyId: string;
  device: string[];
  out?: string;
  trustStore?: string;
  force?: boolean;
  json?: boolean;
}

export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'Ed25519 device signing keys: key files (private, mode 0600) and the trust store (public)',
  );

  keys
    .command('generate')
    .description(
      'Make a signing key for one or more devices, write its key file and add its public key to ' +
        'the trust store. Prints the key id and public key, never the private key.',
    )
    .requiredOption('--key-id <id>', 'key id, as it will appear in every envelope (letters, digits, . _ -)')
    .addOption(
      new Option('--device <device...>', 'device id(s) this key may sign for').makeOptionMandatory(true),
    )
    .option('--out <file>', 'key file (default: <stateDir>/keys/<key-id>.json)')
    .option(
      '--trust-store <file>',
      'trust-store file to update (default: processor.trustStore, else <stateDir>/keys/trust-store.json)',
    )
    .option('--force', 'replace an existing key file and trust-store entry of the same key id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  amoskys keys generate --key-id edge-1 --device router-1 router-2')
    .action(function (this: Command, opts: GenerateOptions) {
      const { loaded } = contextFor(this);
      const keysDir = path.join(loaded.config.stateDir, 'keys');
      const key = generateSigningKey({ keyId: opts.keyId, devices: opts.device });
      const keyFile = path.resolve(opts.out ?? path.join(keysDir, `${key.keyId}.json`));
      const trustStore = trustStorePath(loaded.config, opts.trustStore);
      const force = opts.force === true;

      // Refuse before writing anything: a new key file whose id the trust store already gives to
      // another key would leave the two files disagreeing.
      const existing = readTrustStore(trustStore).keys.find((k) => k.keyId === key.keyId);
      if (existing !== undefined && !force) {
        throw new KeyFileError(
          `trust store ${trustStore} already has key ${key.keyId}; use --force to replace it`,
          { keyId: key.keyId },
        );
      }
      writeKeyFile(keyFile, key, { force });
      const publicKey = Buffer.from(key.publicKey).toString('base64');
      const entry: TrustStoreEntry = {
        keyId: key.keyId,
        publicKey,
        devices: key.devices,
        notBefore: key.createdAt,
      };
      const change = addTrustedKey(trustStore, entry, { replace: force });

      if (opts.json) {
        printJson({
          keyId: key.keyId,
          publicKey,
          devices: key.devices,
          keyFile,
          trustStore,
          trustStoreChange: change,
        });
        return;
      }
      const lines = [
        ['key id', key.keyId],
        ['public key', `${publicKey} (base64)`],
        ['devices', key.devices.join(', ')],
        ['key file', `${keyFile} (mode 0600: keep it private)`],
        ['trust store', `${trustStore} (${change})`],
      ];
      for (const [name, value] of lines) process.stdout.write(`${(name as string).padEnd(12)} ${value}\n`);
    });

  keys
    .command('add')
    .description(
      'Trust a public key for one or more devices. Refuses small-order, mixed-order and non-canonical ' +
        'keys, a public key already trusted under another id, and a key id that names a different key. ' +
        'The trust store is rewritten atomically; a running processor picks the change up.',
    )
    .option(
      '--key-id <id>',
      'key id, as the producer puts it in envelopes (default with --from-key-file: its key id)',
    )
    .option('--public-key <base64>', 'the 32-byte Ed25519 public key, base64')
    .option(
      '--from-key-file <file>',
      'take key id, public key and devices from a key file (only public parts are used)',
    )
    .option(
      '--device <device...>',
      'device id(s) the key may sign for (default with --from-key-file: its devices)',
    )
    .addOption(
      new Option(
        '--not-before <time>',
        "first instant the key may sign at, ISO 8601 (default: the key file's createdAt, else now)",
      ).argParser(isoDate),
    )
    .addOption(
      new Option(
        '--not-after <time>',
        'retire the key from this instant on, ISO 8601 (default: never)',
      ).argParser(isoDate),
    )
    .option(
      '--trust-store <file>',
      'trust-store file (default: processor.trustStore, else <stateDir>/keys/trust-store.json)',
    )
    .option('--force', 'replace the devices and validity of a key that is already trusted')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  amoskys keys add --key-id edge-2 --public-key <base64 of 32 bytes> --device router-1 router-2\n' +
        '  amoskys keys add --from-key-file edge-2.json --not-after 2027-12-01T00:00:00Z',
    )
    .action(function (this: Command, opts: AddOptions) {
      const { loaded } = contextFor(this);
      const trustStore = trustStorePath(loaded.config, opts.trustStore);
      if ((opts.publicKey === undefined) === (opts.fromKeyFile === undefined)) {
        throw new KeyFileError('give exactly one of --public-key and --from-key-file');
      }
      let keyId = opts.keyId;
      let publicKey = opts.publicKey;
      let devices = opts.device;
      let notBefore = opts.notBefore;
      if (opts.fromKeyFile !== undefined) {
        const { key } = readKeyFile(path.resolve(opts.fromKeyFile));
        if (keyId !== undefined && keyId !== key.keyId) {
          throw new KeyFileError(
            `key file ${opts.fromKeyFile} signs as ${key.keyId}, not ${keyId}: envelopes carry the key file's id`,
            { keyId },
          );
        }
        keyId = key.keyId;
        publicKey = Buffer.from(key.publicKey).toString('base64');
        devices ??= key.devices;
        notBefore ??= key.createdAt;
      }
      if (keyId === undefined) throw new KeyFileError('--key-id is required with --public-key');
      if (devices === undefined || devices.length === 0) {
        throw new KeyFileError('--device is required with --public-key', { keyId });
      }
      if (publicKey === undefined || !publicKeyBase64.test(publicKey)) {
        throw new KeyFileError(
          `public key of ${keyId} refused: expected 32 bytes of standard base64 (44 characters)`,
          {
            keyId,
          },
        );
      }
      const existing = readTrustStore(trustStore).keys.find((k) => k.keyId === keyId);
      if (
        existing !== undefined &&
        !Buffer.from(existing.publicKey, 'base64').equals(Buffer.from(publicKey, 'base64'))
      ) {
        throw new KeyFileError(
          `trust store ${trustStore} already has a different key ${keyId}; a key id names one key for good: ` +
            'add the new key under a new id and revoke the old one',
          { keyId },
        );
      }
      const entry: TrustStoreEntry = {
        keyId,
        publicKey,
        devices: [...new Set(devices)],
        notBefore: notBefore ?? existing?.notBefore ?? new Date().toISOString(),
        ...(opts.notAfter === undefined ? {} : { notAfter: opts.notAfter }),
      };
      const change = addTrustedKey(trustStore, entry, { replace: opts.force === true });
      if (opts.json) {
        printJson({ ...entry, trustStore, trustStoreChange: change });
        return;
      }
      const lines = [
        ['key id', keyId],
        ['public key', `${publicKey} (base64)`],
        ['devices', entry.devices.join(', ')],
        ['valid', `from ${entry.notBefore}${entry.notAfter === undefined ? '' : ` until ${entry.notAfter}`}`],
        ['trust store', `${trustStore} (${change})`],
      ];
      for (const [name, value] of lines) process.stdout.write(`${(name as string).padEnd(12)} ${value}\n`);
    });

  keys
    .command('revoke')
    .description(
      'Revoke a key: from --at on, nothing signed by it is accepted, whatever time the envelope claims ' +
        '(to retire a key that is merely being replaced, use `keys retire`). Revocations only move earlier.',
    )
    .requiredOption('--key-id <id>', 'key id to revoke')
    .addOption(
      new Option('--at <time>', 'when the revocation takes effect, ISO 8601 (default: now)').argParser(
        isoDate,
      ),
    )
    .option('--reason <text>', 'why, for people (e.g. "device stolen")')
    .option(
      '--trust-store <file>',
      'trust-store file (default: processor.trustStore, else <stateDir>/keys/trust-store.json)',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample:\n  amoskys keys revoke --key-id edge-1 --reason "router-1 config leaked"',
    )
    .action(function (this: Command, opts: RevokeOptions) {
      const { loaded } = contextFor(this);
      const trustStore = trustStorePath(loaded.config, opts.trustStore);
      const change = revokeTrustedKey(trustStore, {
        keyId: opts.keyId,
        ...(opts.at === undefined ? {} : { at: opts.at }),
        ...(opts.reason === undefined ? {} : { reason: opts.reason }),
      });
      const entry = readTrustStore(trustStore).keys.find((k) => k.keyId === opts.keyId);
      if (opts.json) {
        printJson({
          keyId: opts.keyId,
          revokedAt: entry?.revokedAt,
          revocationReason: entry?.revocationReason,
          trustStore,
          trustStoreChange: change,
        });
        return;
      }
      const note = change === 'unchanged' ? ' (already revoked at or before that time: unchanged)' : '';
      process.stdout.write(`key ${opts.keyId} revoked from ${entry?.revokedAt}${note}\n`);
    });

  keys
    .command('retire')
    .description(
      'Retire a key that is being replaced: envelopes built from --at on are refused, those built before ' +
        'are still accepted while fresh, so nothing in flight is lost. Retirements only move earlier.',
    )
    .requiredOption('--key-id <id>', 'key id to retire')
    .addOption(
      new Option('--at <time>', 'first envelope time refused, ISO 8601 (default: now)').argParser(isoDate),
    )
    .option(
      '--trust-store <file>',
      'trust-store file (default: processor.trustStore, else <stateDir>/keys/trust-store.json)',
    )
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  amoskys keys retire --key-id edge-1 --at 2026-12-06T10:00:00Z')
    .action(function (this: Command, opts: RetireOptions) {
      const { loaded } = contextFor(this);
      const trustStore = trustStorePath(loaded.config, opts.trustStore);
      const change = retireTrustedKey(trustStore, {
        keyId: opts.keyId,
        ...(opts.at === undefined ? {} : { at: opts.at }),
      });
      const entry = readTrustStore(trustStore).keys.find((k) => k.keyId === opts.keyId);
      if (opts.json) {
        printJson({ keyId: opts.keyId, notAfter: entry?.notAfter, trustStore, trustStoreChange: change });
        return;
      }
      const note = change === 'unchanged' ? ' (already retired at or before that time: unchanged)' : '';
      process.stdout.write(`key ${opts.keyId} retired from ${entry?.notAfter}${note}\n`);
    });

  keys
    .command('list')
    .description('List the trusted keys: status now, devices, validity, revocation, public key.')
    .option(
      '--trust-store <file>',
      'trust-store file (default: processor.trustStore, else <stateDir>/keys/trust-store.json)',
    )
    .option('--json', 'print JSON')
    .action(function (this: Command, opts: ListOptions) {
      const { loaded } = contextFor(this);
      const trustStore = trustStorePath(loaded.config, opts.trustStore);
      const nowMs = Date.now();
      const entries = readTrustStore(trustStore).keys.map((k) => ({
        keyId: k.keyId,
        status: keyStatus(k, nowMs),
        devices: k.devices,
        notBefore: k.notBefore,
        notAfter: k.notAfter ?? null,
        revokedAt: k.revokedAt ?? null,
        revocationReason: k.revocationReason ?? null,
        publicKey: k.publicKey,
      }));
      if (opts.json) {
        printJson({ trustStore, keys: entries });
        return;
      }
      if (entries.length === 0) {
        process.stdout.write(`no keys in ${trustStore}\n`);
        return;
      }
      const rows = entries.map((e) => [
        e.keyId,
        e.status,
        e.devices.join(','),
        e.notBefore,
        e.notAfter ?? '-',
        e.revokedAt === null
          ? '-'
          : `${e.revokedAt}${e.revocationReason === null ? '' : ` (${e.revocationReason})`}`,
        e.publicKey,
      ]);
      process.stdout.write(
        `${formatTable(['KEY ID', 'STATUS', 'DEVICES', 'NOT BEFORE', 'NOT AFTER', 'REVOKED', 'PUBLIC KEY'], rows)}\n`,
      );
    });

  return keys;
}
