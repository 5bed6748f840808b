/**
 * A strict reader for the KEY=VALUE files of infra/ (compose `env_file`, kustomize generator `envs`).
 * Docker compose and kustomize disagree on quotes (compose strips them, kustomize keeps them) and on
 * inline comments, so the files use the subset both read the same way, and this reader refuses
 * anything outside it: blank lines, `#` comment lines, and `KEY=VALUE` without quotes, spaces around
 * `=` or ` #`.
 */
import { readFileSync } from 'node:fs';

/** One `KEY=VALUE` line. */
export interface EnvEntry {
  key: string;
  value: string;
  /** 1-based line number, for messages. */
  line: number;
}

/** A parsed env file. */
export interface EnvFile {
  entries: EnvEntry[];
  /** Keys and values as an object (keys are unique, see {@link parseEnvFile}). */
  values: Record<string, string>;
  /**
   * Names in commented-out assignments (`# AMOSKYS_X=...`): examples a reader may uncomment, so they
   * must be valid names too.
   */
  commentedKeys: string[];
}

const keyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const commentedAssignment = /^#\s*([A-Za-z_][A-Za-z0-9_]*)=/;

/**
 * Parses env-file text.
 * @throws Error naming the file and line of the first line outside the subset, or of a key set twice
 * (both tools let the last one win silently).
 */
export function parseEnvFile(text: string, name = 'env file'): EnvFile {
  const entries: EnvEntry[] = [];
  const values: Record<string, string> = {};
  const commentedKeys: string[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const m = commentedAssignment.exec(trimmed);
      if (m?.[1] !== undefined) commentedKeys.push(m[1]);
      continue;
    }
    const fail = (why: string): never => {
      throw new Error(`${name}:${line}: ${why}: ${JSON.stringify(raw)}`);
    };
    if (raw !== trimmed) fail('leading or trailing whitespace');
    const eq = raw.indexOf('=');
    if (eq <= 0) fail('expected KEY=VALUE');
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1);
    if (!keyPattern.test(key)) fail('invalid key (no spaces around "=", no "export")');
    if (/^\s/.test(value)) fail('space after "="');
    if (/["'`]/.test(value)) fail('quotes (compose strips them, kustomize keeps them)');
    if (/\s#/.test(value)) fail('inline comment (compose drops it, kustomize keeps it)');
    if (Object.hasOwn(values, key)) fail(`${key} is set twice`);
    values[key] = value;
    entries.push({ key, value, line });
  }
  return { entries, values, commentedKeys };
}

/** Reads and parses an env file; messages name the path. */
export function readEnvFile(path: string): EnvFile {
  return parseEnvFile(readFileSync(path, 'utf8'), path);
}
