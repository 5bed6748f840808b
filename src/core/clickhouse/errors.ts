/**
 * What a failed ClickHouse request means, in one line. The two server generations word errors
 * differently: 18.16 answers `Code: 193, e.displayText() = DB::Exception: Wrong password for user
 * x, e.what() = DB::Exception`, current servers `Code: 516. DB::Exception: x: Authentication
 * failed: ... (AUTHENTICATION_FAILED)`, which @clickhouse/client parses into a ClickHouseError.
 */

/**
 * Server error codes that mean the credentials were refused (18.16: UNKNOWN_USER, WRONG_PASSWORD,
 * REQUIRED_PASSWORD, IP_ADDRESS_NOT_ALLOWED; current servers: AUTHENTICATION_FAILED).
 */
const authenticationCodes: ReadonlySet<number> = new Set([192, 193, 194, 195, 516]);

/** A failed ClickHouse request, taken apart. */
export interface ClickHouseFailure {
  /** The server's error code, when the server answered with one. */
  code: number | undefined;
  /** The server's message without the code and exception-class decorations, or the error's message. */
  detail: string;
  /** The server refused the user or password. */
  authentication: boolean;
}

/** Takes apart any error a @clickhouse/client call rejected with. */
export function clickhouseFailure(err: unknown): ClickHouseFailure {
  const text = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  const own = (err as { code?: unknown } | null)?.code;
  const parsedCode = typeof own === 'string' && /^\d+$/.test(own) ? Number(own) : undefined;
  const fromText = /Code: (\d+)/.exec(text)?.[1];
  const code = parsedCode ?? (fromText === undefined ? undefined : Number(fromText));
  const detail = (/DB::Exception: (.*?)(?:, e\.what\(\) = .*)?$/.exec(text)?.[1] ?? text).trim();
  return { code, detail, authentication: code !== undefined && authenticationCodes.has(code) };
}

/**
 * One line for a person: for refused credentials it says so and names the settings to check;
 * otherwise the server's message with its code. Never contains the password (servers do not echo it).
 */
export function describeClickHouseFailure(err: unknown): string {
  const f = clickhouseFailure(err);
  if (f.authentication) {
    return (
      `ClickHouse authentication failed (code ${f.code}): ${f.detail}; check clickhouse.username and ` +
      'clickhouse.password (AMOSKYS_CLICKHOUSE_USERNAME, AMOSKYS_CLICKHOUSE_PASSWORD)'
    );
  }
  return f.code === undefined ? f.detail : `${f.detail} (code ${f.code})`;
}
