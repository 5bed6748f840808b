/**
 * Every ClickHouse migration, in version order. A new migration is a new numbered file here plus
 * one line below; an applied one is never edited (`amoskys clickhouse migrate` refuses to run
 * when the rendering of an applied migration changed). A unit test checks this list against the
 * files in this folder.
 */
import type { Migration } from '../../src/core/clickhouse/migration.ts';
import { migration as tables } from './0001_tables.ts';
import { migration as views } from './0002_views.ts';
import { migration as access } from './0003_access.ts';

export const migrations: readonly Migration[] = [tables, views, access];
