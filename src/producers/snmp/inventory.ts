/**
 * The device inventory: a YAML file (see config/devices.example.yaml) or the same shape built in
 * code. Validated with zod; every error names the device id, the path in the file and where the
 * value came from. SNMPv3 passphrases never sit in the file: it names environment variables,
 * resolved at load.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AmoskysError, ConfigError, type ConfigIssue, ErrorCode } from '../../core/errors/index.ts';
import { builtinProfiles } from './profile.ts';
import { AuthProtocol, type Credentials, type Device, PrivProtocol, type Profile } from './types.ts';

/** Device ids: they become Kafka keys and idempotency key prefixes. */
export const deviceIdPattern = /^[A-Za-z0-9._:-]+$/;
const hostnamePattern =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

const settings = {
  /** UDP port. @default 161 */
  port: z.number().int().min(1).max(65535).optional(),
  /** Poll interval, seconds. @default 60 */
  intervalSeconds: z.number().int().min(1).max(86_400).optional(),
  /** Profile name. @default 'default' */
  profile: z.string().min(1).optional(),
  /** Timeout of one request attempt, ms. @default 1000 */
  timeoutMs: z.number().int().min(1).max(60_000).optional(),
  /** Retransmissions after a timeout. @default 1 */
  retries: z.number().int().min(0).max(10).optional(),
  /** Poll deadline from its scheduled start, ms; below the interval. @default 80 % of it, at most 30 000 */
  deadlineMs: z.number().int().min(1).optional(),
};

const base = {
  id: z.string().max(200).regex(deviceIdPattern, 'expected an id of letters, digits and . _ : -'),
  address: z
    .string()
    .min(1)
    .refine((a) => isIP(a) !== 0 || hostnamePattern.test(a), 'expected an IP address or host name'),
  ...settings,
};

const v2cDevice = z.strictObject({
  ...base,
  version: z.literal('v2c'),
  /** The community, for lab devices; prefer communityEnv. */
  community: z.string().min(1).optional(),
  /** Environment variable holding the community. */
  communityEnv: envName.optional(),
});

const v3Device = z.strictObject({
  ...base,
  version: z.literal('v3'),
  user: z.string().min(1).max(32),
  level: z.enum(['authNoPriv', 'authPriv']),
  authProtocol: z.enum(Object.values(AuthProtocol) as [AuthProtocol, ...AuthProtocol[]]),
  authPassEnv: envName.optional(),
  privProtocol: z.enum(Object.values(PrivProtocol) as [PrivProtocol, ...PrivProtocol[]]).optional(),
  privPassEnv: envName.optional(),
  /** Only in code (tests, simulator); a file must use authPassEnv. */
  authPass: z.string().optional(),
  /** Only in code (tests, simulator); a file must use privPassEnv. */
  privPass: z.string().optional(),
});

/** One device as written in the inventory (file or code). */
export type DeviceInput = z.input<typeof v2cDevice> | z.input<typeof v3Device>;

/** Schema of the inventory document. */
export const inventorySchema = z.strictObject({
  /** Settings every device inherits unless it sets its own. */
  defaults: z.strictObject(settings).optional(),
  devices: z.array(z.discriminatedUnion('version', [v2cDevice, v3Device])),
});

/** The inventory as written: `{ defaults?, devices }`. */
export type InventoryInput = z.input<typeof inventorySchema>;

/** Devices with defaults applied and secrets resolved. */
export interface Inventory {
  devices: Device[];
}

/** Options of {@link buildInventory} and {@link loadInventory}. */
export interface InventoryOptions {
  /** Where `*Env` variables are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Profiles devices may name. @default the built-in profiles */
  profiles?: ReadonlyMap<string, Profile>;
  /** Where the input came from, for error messages. @default 'code' */
  source?: string;
  /** Whether v3 passphrases may be given inline (code only, never files). @default true */
  allowInlineSecrets?: boolean;
}

/** Defaults of device settings the inventory does not set. */
export const deviceDefaults = {
  port: 161,
  intervalSeconds: 60,
  profile: 'default',
  timeoutMs: 1000,
  retries: 1,
};

/** Default poll deadline of an interval: 80 % of it, at most 30 s. */
export function defaultDeadlineMs(intervalSeconds: number): number {
  return Math.min(Math.floor(intervalSeconds * 800), 30_000);
}

/**
 * Validates an inventory given in code (or parsed from a file) and resolves it.
 * @throws ConfigError listing every problem with the device id, path and source.
 */
export function buildInventory(input: unknown, options: InventoryOptions = {}): Inventory {
  const env = options.env ?? process.env;
  const profiles = options.profiles ?? builtinProfiles;
  const source = options.source ?? 'code';
  const allowInline = options.allowInlineSecrets ?? true;

  const parsed = inventorySchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const path = issue.path.map(String).join('.');
        const device = deviceOf(input, issue.path);
        return {
          path,
          message: `${device === undefined ? '' : `device ${device}: `}${issue.message}`,
          value: redactValue(path, valueAt(input, issue.path)),
          source,
        };
      }),
    );
  }

  const issues: ConfigIssue[] = [];
  const devices: Device[] = [];
  const seen = new Map<string, number>();
  parsed.data.devices.forEach((d, i) => {
    const at = (key: string) => `devices.${i}.${key}`;
    const problem = (key: string, message: string, value: unknown) =>
      issues.push({ path: at(key), message: `device ${d.id}: ${message}`, value, source });

    const first = seen.get(d.id);
    if (first !== undefined) problem('id', `duplicate id (also devices.${first})`, d.id);
    else seen.set(d.id, i);

    const defaults = parsed.data.defaults;
    const merged = {
      port: d.port ?? defaults?.port ?? deviceDefaults.port,
      intervalSeconds: d.intervalSeconds ?? defaults?.intervalSeconds ?? deviceDefaults.intervalSeconds,
      profile: d.profile ?? defaults?.profile ?? deviceDefaults.profile,
      timeoutMs: d.timeoutMs ?? defaults?.timeoutMs ?? deviceDefaults.timeoutMs,
      retries: d.retries ?? defaults?.retries ?? deviceDefaults.retries,
      deadlineMs: d.deadlineMs ?? defaults?.deadlineMs,
    };
    if (!profiles.has(merged.profile)) {
      problem('profile', `unknown profile (known: ${[...profiles.keys()].join(', ')})`, merged.profile);
    }
    const deadlineMs = merged.deadlineMs ?? defaultDeadlineMs(merged.intervalSeconds);
    if (deadlineMs >= merged.intervalSeconds * 1000) {
      problem('deadlineMs', `must be below the interval (${merged.intervalSeconds * 1000} ms)`, deadlineMs);
    }

    const secret = (
      valueKey: string,
      envKey: string,
      inline: string | undefined,
      name: string | undefined,
    ) => {
      if (inline !== undefined && name !== undefined) {
        problem(envKey, `set either ${valueKey} or ${envKey}, not both`, name);
        return undefined;
      }
      if (name !== undefined) {
        const value = env[name];
        if (value === undefined || value === '') {
          problem(envKey, `environment variable ${name} is not set`, name);
          return undefined;
        }
        return value;
      }
      return inline;
    };

    let credentials: Credentials | undefined;
    if (d.version === 'v2c') {
      const community = secret('community', 'communityEnv', d.community, d.communityEnv);
      if (d.community === undefined && d.communityEnv === undefined) {
        problem('communityEnv', 'SNMPv2c needs community or communityEnv', undefined);
      }
      if (community !== undefined) credentials = { version: 'v2c', community };
    } else {
      if (!allowInline && d.authPass !== undefined) {
        problem('authPass', 'passphrases do not belong in the file: name a variable with authPassEnv', '***');
      }
      if (!allowInline && d.privPass !== undefined) {
        problem('privPass', 'passphrases do not belong in the file: name a variable with privPassEnv', '***');
      }
      const authPass = secret('authPass', 'authPassEnv', d.authPass, d.authPassEnv);
      if (d.authPass === undefined && d.authPassEnv === undefined) {
        problem('authPassEnv', 'SNMPv3 needs authPassEnv', undefined);
      } else if (authPass !== undefined && authPass.length < 8) {
        problem(
          d.authPassEnv === undefined ? 'authPass' : 'authPassEnv',
          'passphrase shorter than 8 characters (RFC 3414)',
          d.authPassEnv ?? '***',
        );
      }
      let privPass: string | undefined;
      if (d.level === 'authPriv') {
        if (d.privProtocol === undefined) problem('privProtocol', 'authPriv needs privProtocol', undefined);
        privPass = secret('privPass', 'privPassEnv', d.privPass, d.privPassEnv);
        if (d.privPass === undefined && d.privPassEnv === undefined) {
          problem('privPassEnv', 'authPriv needs privPassEnv', undefined);
        } else if (privPass !== undefined && privPass.length < 8) {
          problem(
            d.privPassEnv === undefined ? 'privPass' : 'privPassEnv',
            'passphrase shorter than 8 characters (RFC 3414)',
            d.privPassEnv ?? '***',
          );
        }
      } else if (d.privProtocol !== undefined || d.privPassEnv !== undefined || d.privPass !== undefined) {
        problem('level', 'privacy settings given but level is authNoPriv', d.level);
      }
      if (
        authPass !== undefined &&
        (d.level === 'authNoPriv' || (privPass !== undefined && d.privProtocol !== undefined))
      ) {
        credentials = {
          version: 'v3',
          user: d.user,
          level: d.level,
          authProtocol: d.authProtocol,
          authPass,
          ...(d.level === 'authPriv' && d.privProtocol !== undefined && privPass !== undefined
            ? { privProtocol: d.privProtocol, privPass }
            : {}),
        };
      }
    }
    if (credentials === undefined) return;
    devices.push({
      id: d.id,
      address: d.address,
      port: merged.port,
      credentials,
      intervalSeconds: merged.intervalSeconds,
      profile: merged.profile,
      timeoutMs: merged.timeoutMs,
      retries: merged.retries,
      deadlineMs,
    });
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return { devices };
}

/**
 * Reads and validates an inventory file (YAML or JSON). Passphrases must come from variables.
 * @throws AmoskysError CONFIG_UNREADABLE when the file cannot be read or parsed; ConfigError when
 *   it is invalid.
 */
export function loadInventory(file: string, options: Omit<InventoryOptions, 'source'> = {}): Inventory {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new AmoskysError(ErrorCode.ConfigUnreadable, `cannot read inventory ${file}: ${String(cause)}`, {
      retriable: false,
      cause,
      context: { file },
    });
  }
  return buildInventory(parsed ?? {}, { allowInlineSecrets: false, ...options, source: `file ${file}` });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = input;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function deviceOf(input: unknown, path: readonly PropertyKey[]): string | undefined {
  if (path[0] !== 'devices' || typeof path[1] !== 'number') return undefined;
  const id = valueAt(input, ['devices', path[1], 'id']);
  return typeof id === 'string' ? id : `#${path[1]}`;
}

function redactValue(path: string, value: unknown): unknown {
  return /(authPass|privPass|community)$/.test(path) && value !== undefined ? '***' : value;
}
