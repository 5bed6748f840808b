/**
 * Server version parsing and the capability set migrations are rendered for. The local server is
 * ClickHouse 18.16 (no DateTime64, Map, RBAC, insert deduplication tokens); users run current
 * releases. Migrations branch on one flag, `modern`, so there are exactly two variants to test.
 */
import { ClickHouseSchemaError } from '../errors/index.ts';

/** A parsed `SELECT version()` answer, e.g. `18.16.1` or `25.8.2.29`. */
export interface ServerVersion {
  major: number;
  minor: number;
  patch: number;
  /** The string the server returned. */
  raw: string;
}

/** Name of a rendering of the migrations. Stored in `schema_migrations.variant`. */
export const SchemaVariant = {
  /** ClickHouse 18.16 to 21.x: plain String/DateTime columns, no users, no dedup tokens. */
  Legacy: 'legacy',
  /** ClickHouse 22 and later: LowCardinality, DateTime64 aliases, dedup window, roles and grants. */
  Modern: 'modern',
} as const;
export type SchemaVariant = (typeof SchemaVariant)[keyof typeof SchemaVariant];

/** What a server can do, as far as the migrations care. */
export interface Capabilities {
  variant: SchemaVariant;
  /**
   * 22.1 or later: `LowCardinality` without an experimental setting, `DateTime64`,
   * `fromUnixTimestamp64Nano`, `non_replicated_deduplication_window` (needed by
   * `insert_deduplication_token` on plain MergeTree), `CREATE ROLE`/`GRANT`.
   */
  modern: boolean;
}

/** First major version rendered with the modern variant. */
export const MODERN_MAJOR = 22;

/** Parses `SELECT version()`. Throws ClickHouseSchemaError on anything that is not `N.N[.N...]`. */
export function parseServerVersion(raw: string): ServerVersion {
  const match = /^\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(raw);
  if (!match) {
    throw new ClickHouseSchemaError(`cannot parse ClickHouse server version ${JSON.stringify(raw)}`, {
      version: raw,
    });
  }
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: match[3] === undefined ? 0 : Number(match[3]),
    raw: raw.trim(),
  };
}

/** The capability set of a server version. */
export function capabilitiesFor(version: Pick<ServerVersion, 'major'>): Capabilities {
  const modern = version.major >= MODERN_MAJOR;
  return { modern, variant: modern ? SchemaVariant.Modern : SchemaVariant.Legacy };
}

/** The capability set of a variant name, e.g. the one recorded for an applied migration. */
export function capabilitiesOfVariant(variant: SchemaVariant): Capabilities {
  return { variant, modern: variant === SchemaVariant.Modern };
}
