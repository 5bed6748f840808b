/**
 * A current ClickHouse engine (26.9, embedded: PyPI chdb-core) for tests of what the local 18.16
 * server cannot show: the `modern` rendering of the migrations, insert deduplication tokens,
 * DateTime64. infra/local/chdb/run.py holds one session on a data folder of its own; this module
 * starts it as a child process and talks to it one JSON line at a time.
 *
 * The first use downloads the wheel (`infra/local/chdb.sh fetch`, ~181 MB once, into the state
 * folder's cache). When that is impossible (no python3, no network) {@link startChdb} says why
 * instead of failing, and the tests skip with that reason.
 *
 * What this is not: an HTTP server. Requests of @clickhouse/client are mirrored (the same INSERT
 * text, the same TabSeparated body as bytes, the same settings, given as a SETTINGS clause instead
 * of URL parameters), so the HTTP layer of a real server stays untested here.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlString } from '../../src/core/clickhouse/index.ts';
import { repoRoot } from '../../src/core/config/index.ts';

const run = promisify(execFile);

/** A failed request: the engine's own message (`Code: N. DB::Exception: ...`). */
export class ChdbQueryError extends Error {
  /** The ClickHouse error code, as @clickhouse/client's ClickHouseError has it (a decimal string). */
  readonly code: string | undefined;
  /** The error name in parentheses, e.g. `UNKNOWN_TABLE`. */
  readonly type: string | undefined;
  constructor(message: string, query: string) {
    super(`${message}\n  query: ${query.slice(0, 300)}`);
    this.name = 'ChdbQueryError';
    this.code = /^Code: (\d+)/.exec(message)?.[1];
    this.type = /\(([A-Z][A-Z0-9_]+)\)(?: \(version [^)]*\))?\s*$/.exec(message.split('\n')[0] ?? '')?.[1];
  }
}

/** One engine session. */
export interface ChdbEngine {
  /** `SELECT version()`, e.g. `26.9.2.1`. */
  readonly version: string;
  /** The engine's data folder (a fresh one per {@link startChdb}). */
  readonly dataDir: string;
  /** Rows of a query, JSONEachRow, parsed as @clickhouse/client's `json()` parses them. */
  query<T>(sql: string): Promise<T[]>;
  /** Runs a statement that returns nothing (DDL, SET, SYSTEM). */
  command(sql: string): Promise<void>;
  /**
   * Inserts a TabSeparated body the way the sink's writer does: `INSERT INTO <table> (<columns>)`
   * (the text @clickhouse/client builds), the body as bytes, `settings` as query settings.
   * @returns rows written by the engine (0 when the insert was deduplicated)
   */
  insertTsv(
    table: string,
    columns: readonly string[],
    body: Buffer,
    settings?: Readonly<Record<string, string | number>>,
  ): Promise<number>;
  /**
   * The engine behind the part of @clickhouse/client's interface that `migrate()` and the sink's
   * `createWriter()` use (`query` with JSONEachRow, `command`, `insert` of JSONEachRow arrays or
   * TabSeparated streams, `close`), so those run unchanged. Anything else throws.
   */
  readonly client: ClickHouseClient;
  /** Stops the engine and removes its data folder (kept when AMOSKYS_TEST_KEEP_DATABASE=1). Safe twice. */
  close(): Promise<void>;
}

export type ChdbStart = { ok: true; engine: ChdbEngine } | { ok: false; reason: string };

interface Reply {
  ok: boolean;
  version?: string;
  rows?: unknown[];
  written_rows?: number;
  error?: string;
}

/** The chdb-core folder, fetched when missing; a reason when it cannot be had. */
async function chdbLibrary(): Promise<{ dir: string } | { reason: string }> {
  const started = Date.now();
  try {
    const { stdout } = await run('bash', [join(repoRoot, 'infra/local/chdb.sh'), 'fetch'], {
      timeout: 30 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const dir = stdout.trim().split('\n').pop() ?? '';
    const seconds = (Date.now() - started) / 1000;
    if (seconds > 10) console.warn(`[chdb] fetched chdb-core in ${seconds.toFixed(0)} s`);
    return { dir };
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    const last = stderr.split('\n').filter(Boolean).pop() ?? (err as Error).message;
    return { reason: `chdb-core (ClickHouse 26.9 engine) is not available: ${last}` };
  }
}

/**
 * Starts an engine on a fresh data folder, fetching chdb-core first when needed.
 * @returns the engine, or why there is none when chdb-core cannot be fetched (the caller skips)
 * @throws Error when chdb-core is there but the engine does not start
 */
export async function startChdb(): Promise<ChdbStart> {
  const lib = await chdbLibrary();
  if ('reason' in lib) return { ok: false, reason: lib.reason };
  const dataDir = mkdtempSync(join(tmpdir(), 'amoskys-chdb-'));
  const child = spawn(
    process.env.AMOSKYS_PYTHON ?? 'python3',
    [join(repoRoot, 'infra/local/chdb/run.py'), join(dataDir, 'engine')],
    {
      // Away from the repository: clickhouse-local reads a ./config.xml when there is one.
      cwd: dataDir,
      env: { ...process.env, PYTHONPATH: lib.dir, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const pending: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  let exited: Error | undefined;
  createInterface({ input: child.stdout as Readable }).on('line', (line) => {
    const waiter = pending.shift();
    if (waiter === undefined) return;
    try {
      waiter.resolve(JSON.parse(line) as Reply);
    } catch {
      waiter.reject(new Error(`chdb runner wrote a line that is not JSON: ${line.slice(0, 200)}`));
    }
  });
  const died = (why: string) => {
    exited = new Error(`chdb runner ${why}; its stderr ends with:\n${stderr}`);
    for (const w of pending.splice(0)) w.reject(exited);
  };
  child.on('exit', (code, signal) => died(`exited (code ${code}, signal ${signal})`));
  child.on('error', (err) => died(`could not start: ${err.message}`));

  const next = (): Promise<Reply> =>
    exited !== undefined
      ? Promise.reject(exited)
      : new Promise((resolve, reject) => pending.push({ resolve, reject }));
  const request = async (payload: Record<string, string>): Promise<Reply> => {
    const answer = next();
    (child.stdin as NodeJS.WritableStream).write(`${JSON.stringify(payload)}\n`);
    const reply = await answer;
    if (!reply.ok) throw new ChdbQueryError(reply.error ?? 'unknown error', payload.query ?? '');
    return reply;
  };

  let hello: Reply;
  try {
    hello = await next();
  } catch (err) {
    // Fetched but not starting is a fault to see (the runner, the machine), not a reason to skip.
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(
      `chdb-core is fetched (${lib.dir}) but the engine does not start: ${(err as Error).message}`,
    );
  }

  const query = async <T>(sql: string): Promise<T[]> =>
    ((await request({ query: sql, format: 'JSONEachRow' })).rows ?? []) as T[];
  const command = async (sql: string): Promise<void> => {
    await request({ query: sql, format: 'TSV' });
  };
  const insert = async (
    target: string,
    format: string,
    body: Buffer,
    settings: Readonly<Record<string, string | number>> = {},
  ): Promise<number> => {
    const clause = Object.entries(settings)
      .map(([k, v]) => `${k} = ${typeof v === 'number' ? String(v) : sqlString(v)}`)
      .join(', ');
    const sql = clause === '' ? target : `${target} SETTINGS ${clause}`;
    const reply = await request({ query: sql, format, data_base64: body.toString('base64') });
    return reply.written_rows ?? 0;
  };
  // The INSERT text exactly as @clickhouse/client 1.x builds it (getInsertQuery), without FORMAT:
  // the runner names the format separately.
  const insertTarget = (table: string, columns: readonly string[] | undefined) =>
    `INSERT INTO ${table.trim()}${columns !== undefined && columns.length > 0 ? ` (${columns.join(', ')})` : ''}`;

  const client = {
    query: async (params: { query: string; format?: string }) => {
      if (params.format !== 'JSONEachRow')
        throw new Error(`chdb client: only JSONEachRow, not ${params.format}`);
      const rows = await query<unknown>(params.query);
      return { json: async () => rows };
    },
    command: async (params: { query: string }) => {
      await command(params.query);
      return {};
    },
    insert: async (params: {
      table: string;
      format?: string;
      columns?: readonly string[];
      values: unknown;
      clickhouse_settings?: Record<string, string | number>;
    }) => {
      const format = params.format ?? 'JSONCompactEachRow';
      let body: Buffer;
      if (Array.isArray(params.values) && format === 'JSONEachRow') {
        body = Buffer.from(params.values.map((v) => `${JSON.stringify(v)}\n`).join(''), 'utf8');
      } else if (typeof (params.values as Readable | null)?.[Symbol.asyncIterator] === 'function') {
        const chunks: Buffer[] = [];
        for await (const chunk of params.values as Readable) chunks.push(Buffer.from(chunk as Uint8Array));
        body = Buffer.concat(chunks);
      } else {
        throw new Error(`chdb client: insert of ${format} ${typeof params.values} is not mirrored`);
      }
      await insert(
        insertTarget(params.table, params.columns),
        format,
        body,
        params.clickhouse_settings ?? {},
      );
      return { executed: true, query_id: '' };
    },
    close: async () => undefined,
  } as unknown as ClickHouseClient;

  let closed = false;
  const engine: ChdbEngine = {
    version: hello.version ?? '',
    dataDir,
    query,
    command,
    insertTsv: (table, columns, body, settings) =>
      insert(insertTarget(table, columns), 'TabSeparated', body, settings),
    client,
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        if (exited !== undefined) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
      });
      if (process.env.AMOSKYS_TEST_KEEP_DATABASE !== '1') rmSync(dataDir, { recursive: true, force: true });
      else console.warn(`[chdb] kept the engine's data in ${dataDir}`);
    },
  };
  return { ok: true, engine };
}
