import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AmoskysError, ConfigError, type ConfigIssue, ErrorCode } from '../errors/index.ts';
import { defaults } from './defaults.ts';
import { envVars, parseEnvValue, secretPaths } from './env.ts';
import { type Config, configSchema } from './schema.ts';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** YAML or JSON file; default `$AMOSKYS_CONFIG`, else `./amoskys.yaml` when it exists. */
  file?: string | undefined;
  /** Environment to read `AMOSKYS_*` from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Values set in code; they win over everything else. */
  overrides?: DeepPartial<Config>;
  /** Folder relative paths are resolved against. @default process.cwd() */
  cwd?: string;
}

/** The validated configuration plus where each value came from. */
export interface LoadedConfig {
  config: Config;
  /** The file that was read, if any. */
  file: string | undefined;
  /** Source of each dotted leaf path that did not come from the defaults. */
  sources: ReadonlyMap<string, string>;
  /** Problems that do not stop the process, e.g. an `AMOSKYS_*` variable nobody reads. */
  warnings: string[];
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

type Tree = Record<string, unknown>;

/** Variables that belong to the launcher and the stack scripts, not to the configuration. */
const nonConfigVars = new Set(['AMOSKYS_CONFIG', 'AMOSKYS_REPO_ROOT']);
/** Device secrets named by inventories (`authPassEnv: AMOSKYS_DEVICE_...`), read by the inventory loader. */
const deviceSecretVar = /^AMOSKYS_DEVICE_/;
const stackScriptVar =
  /^AMOSKYS_(KAFKA_PORT|KAFKA_CONTROLLER_PORT|REGISTRY_PORT|REGISTRY_MANAGEMENT_PORT|CLICKHOUSE_(HTTP|TCP)_PORT)$/;

/**
 * Loads the configuration. Precedence: code overrides > `AMOSKYS_*` environment > file > defaults.
 * @throws ConfigError listing every invalid path with its value (secrets redacted) and source.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const sources = new Map<string, string>();
  const warnings: string[] = [];

  let merged: Tree = structuredClone(defaults) as unknown as Tree;

  const file = resolveFile(options.file ?? env.AMOSKYS_CONFIG, cwd);
  if (file !== undefined) {
    const fromFile = readConfigFile(file);
    merged = mergeInto(merged, fromFile, `file ${path.relative(cwd, file) || file}`, sources);
  }

  const fromEnv: Tree = {};
  const envSources = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('AMOSKYS_') || raw === undefined) continue;
    const spec = (envVars as Record<string, (typeof envVars)[keyof typeof envVars]>)[name];
    if (spec === undefined) {
      if (!nonConfigVars.has(name) && !stackScriptVar.test(name) && !deviceSecretVar.test(name)) {
        warnings.push(`${name} is set but is not an AMOSKYS setting (see \`amoskys config env\`)`);
      }
      continue;
    }
    setPath(fromEnv, spec.path, parseEnvValue(spec.kind, raw));
    envSources.set(spec.path, `env ${name}`);
  }
  merged = mergeInto(merged, fromEnv, 'env', sources);
  for (const [p, s] of envSources) sources.set(p, s);

  if (options.overrides !== undefined) {
    merged = mergeInto(merged, options.overrides as Tree, 'code', sources);
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues.map((issue) => {
      const dotted = issue.path.map(String).join('.');
      const value = getPath(merged, dotted);
      return {
        path: dotted,
        message: issue.message,
        value: shownValue(dotted, value),
        source: sources.get(dotted) ?? nearestSource(sources, dotted) ?? 'defaults',
      };
    });
    throw new ConfigError(issues);
  }
  const config = result.data;
  config.stateDir = path.resolve(file === undefined ? cwd : path.dirname(file), config.stateDir);
  return { config, file, sources, warnings };
}

/** A copy of the configuration that is safe to print or log: every secret becomes `***`. */
export function redactConfig(config: Config): Tree {
  const copy = structuredClone(config) as unknown as Tree;
  for (const p of secretPaths) {
    const value = getPath(copy, p);
    if (typeof value === 'string' && value.length > 0) setPath(copy, p, '***');
  }
  return copy;
}

/**
 * What a configuration error shows of a value: `***` for a secret, and only the key names of an
 * object. Objects appear when a key is not recognised (the issue is on the parent, up to the whole
 * configuration) and their leaves may be secrets, misspelled ones included, which no secret path
 * matches.
 */
function shownValue(dotted: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (isSecretPath(dotted)) return '***';
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return `an object with keys ${Object.keys(value).join(', ')}`;
  }
  return value;
}

function isSecretPath(dotted: string): boolean {
  for (const p of secretPaths) if (dotted === p || dotted.startsWith(`${p}.`)) return true;
  return false;
}

function nearestSource(sources: ReadonlyMap<string, string>, dotted: string): string | undefined {
  const keys = dotted.split('.');
  // An element of a list set as a whole (kafka.brokers.0 from AMOSKYS_KAFKA_BROKERS).
  for (let n = keys.length - 1; n > 0; n--) {
    const source = sources.get(keys.slice(0, n).join('.'));
    if (source !== undefined) return source;
  }
  // A missing child of an object set elsewhere (kafka.sasl.username when only
  // AMOSKYS_KAFKA_SASL_MECHANISM is set): name the sibling's source to point at the cause.
  const parent = keys.slice(0, -1).join('.');
  for (const [p, s] of sources) if (parent !== '' && p.startsWith(`${parent}.`)) return s;
  return undefined;
}

function resolveFile(candidate: string | undefined, cwd: string): string | undefined {
  if (candidate !== undefined && candidate !== '') {
    const abs = path.resolve(cwd, candidate);
    if (!existsSync(abs)) {
      throw new AmoskysError(ErrorCode.ConfigUnreadable, `configuration file not found: ${abs}`, {
        retriable: false,
        context: { file: abs },
      });
    }
    return abs;
  }
  const local = path.resolve(cwd, 'amoskys.yaml');
  return existsSync(local) ? local : undefined;
}

function readConfigFile(file: string): Tree {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new AmoskysError(
      ErrorCode.ConfigUnreadable,
      `cannot read configuration file ${file}: ${String(cause)}`,
      {
        retriable: false,
        cause,
        context: { file },
      },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AmoskysError(ErrorCode.ConfigUnreadable, `configuration file ${file} must hold a mapping`, {
      retriable: false,
      context: { file },
    });
  }
  return parsed as Tree;
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge of `layer` over `base`; arrays and scalars replace. Records each leaf's source. */
function mergeInto(base: Tree, layer: Tree, source: string, sources: Map<string, string>, prefix = ''): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const p = prefix === '' ? key : `${prefix}.${key}`;
    const current = out[key];
    if (isTree(value) && (isTree(current) || current === undefined)) {
      out[key] = mergeInto(isTree(current) ? current : {}, value, source, sources, p);
    } else {
      out[key] = value;
      sources.set(p, source);
    }
  }
  return out;
}

function getPath(tree: Tree, dotted: string): unknown {
  let node: unknown = tree;
  for (const key of dotted.split('.')) {
    if (dotted === '') return tree;
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Tree)[key];
  }
  return node;
}

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys[keys.length - 1] as string] = value;
}
