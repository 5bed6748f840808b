/**
 * The feature-row contract in the real Schema Registry: features.proto registers under
 * BACKWARD_TRANSITIVE (proto3 `optional` fields, nested enums), an added column is accepted as a
 * new version, a retyped or renumbered column is refused, and a golden row framed with the
 * registered id reads back through the wire format. Random subjects, deleted after each test.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/core/config/index.ts';
import { decodeFeatureRow, featuresSchema } from '../../../src/core/features/index.ts';
import { applySubject, frame, lookupSchema, unframe } from '../../../src/core/registry/index.ts';
import { testConfig } from '../../helpers/config.ts';
import { randomSubject } from '../../helpers/registry.ts';

const config = testConfig();
const v1 = featuresSchema.source;
const withColumn = v1.replace(
  '  optional double if_out_errors_per_second = 68;\n',
  '  optional double if_out_errors_per_second = 68;\n  optional double mem_shared = 69;\n',
);
const retyped = v1.replace('optional uint64 cpu_raw_user = 25;', 'optional string cpu_raw_user = 25;');
const renumbered = v1.replace('optional double disk_total = 39;', 'optional double disk_total = 70;');

describe('features.proto in the Schema Registry', () => {
  it('registers under BACKWARD_TRANSITIVE, idempotently, and accepts an added column', async (ctx) => {
    expect(withColumn).not.toBe(v1);
    const subject = randomSubject(ctx, config, 'features');
    const first = await applySubject(config, { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v1 });
    expect(first).toMatchObject({
      status: 'registered',
      version: 1,
      compatibilityChange: { from: null, to: 'BACKWARD_TRANSITIVE' },
    });
    const again = await applySubject(config, { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v1 });
    expect(again).toMatchObject({ status: 'unchanged', version: 1 });
    const second = await applySubject(config, {
      subject,
      compatibility: 'BACKWARD_TRANSITIVE',
      schema: withColumn,
    });
    expect(second).toMatchObject({ status: 'registered', version: 2 });
  });

  it.for([
    ['a retyped column (cpu_raw_user uint64 -> string)', retyped],
    ['a renumbered column (disk_total 39 -> 70)', renumbered],
  ])('refuses %s', async ([, breaking], ctx) => {
    expect(breaking).not.toBe(v1);
    const subject = randomSubject(ctx, config, 'features-break');
    await applySubject(config, { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v1 });
    const outcome = await applySubject(config, {
      subject,
      compatibility: 'BACKWARD_TRANSITIVE',
      schema: breaking as string,
    });
    expect(outcome).toMatchObject({ subject, status: 'incompatible' });
    expect(await lookupSchema(config, subject, breaking as string)).toBeUndefined();
  });

  it('a golden row framed with the registered id reads back through the wire format', async (ctx) => {
    const subject = randomSubject(ctx, config, 'features-frame');
    const registered = await applySubject(config, {
      subject,
      compatibility: 'BACKWARD_TRANSITIVE',
      schema: v1,
    });
    if (registered.status !== 'registered') throw new Error(JSON.stringify(registered));
    const bytes = new Uint8Array(readFileSync(`${repoRoot}/test/fixtures/features/snmpd-rates.bin`));
    const framed = frame(registered.id, featuresSchema.messageIndexes, bytes);
    // magic 0, 4-byte big-endian id, message indexes [0] as the single byte 0
    expect(framed[0]).toBe(0);
    expect(Buffer.from(framed).readUInt32BE(1)).toBe(registered.id);
    expect(framed[5]).toBe(0);
    const unframed = unframe(framed);
    if (!unframed.ok) throw new Error(unframed.detail);
    expect(unframed).toMatchObject({ schemaId: registered.id, messageIndexes: [0] });
    const decoded = decodeFeatureRow(unframed.payload);
    expect(decoded.ok && decoded.row.features.cpu_raw_user_per_second).toBe(50);
  });
});
