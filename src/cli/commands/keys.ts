import path from 'node:path';
import { Command, Option } from 'commander';
import {
  addTrustedKey,
  generateSigningKey,
  readTrustStore,
  type TrustStoreEntry,
  writeKeyFile,
} from '../../core/crypto/index.ts';
import { KeyFileError } from '../../core/errors/index.ts';
import { contextFor } from '../context.ts';
import { printJson } from '../output.ts';

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
    .option('--trust-store <file>', 'trust-store file to update (default: <stateDir>/keys/trust-store.json)')
    .option('--force', 'replace an existing key file and trust-store entry of the same key id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  amoskys keys generate --key-id edge-1 --device router-1 router-2')
    .action(function (this: Command, opts: GenerateOptions) {
      const { loaded } = contextFor(this);
      const keysDir = path.join(loaded.config.stateDir, 'keys');
      const key = generateSigningKey({ keyId: opts.keyId, devices: opts.device });
      const keyFile = path.resolve(opts.out ?? path.join(keysDir, `${key.keyId}.json`));
      const trustStore = path.resolve(opts.trustStore ?? path.join(keysDir, 'trust-store.json'));
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

  return keys;
}
