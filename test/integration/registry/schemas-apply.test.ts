/**
 * `schemas apply` against the real registry: BACKWARD_TRANSITIVE accepts the v2 schema (added
 * fields) after v1 and refuses breaking changes, and the refusal reaches the operator with the
 * subject and the registry's own message. Random subjects, deleted after each test.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { repoRoot } from '../../../src/core/config/index.ts';
import { envelopeSchema } from '../../../src/core/envelope/index.ts';
import {
  applySubject,
  applyTopicSchemas,
  getSubjectCompatibility,
  lookupSchema,
} from '../../../src/core/registry/index.ts';
import { testConfig } from '../../helpers/config.ts';
import { randomSubject } from '../../helpers/registry.ts';

const config = testConfig();
const v1 = envelopeSchema.source;
const v2 = readFileSync(`${repoRoot}/test/fixtures/schemas/telemetry-v2.proto`, 'utf8');
const retyped = readFileSync(`${repoRoot}/test/fixtures/schemas/telemetry-breaking.proto`, 'utf8');
const renumbered = v1.replace('string idempotency_key = 3;', 'string idempotency_key = 7;');

describe('applySubject', () => {
  it('registers v1, is idempotent, accepts v2 (added fields) under BACKWARD_TRANSITIVE', async (ctx) => {
    const subject = randomSubject(ctx, config, 'schemas-v2');
    const first = await applySubject(config, { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v1 });
    expect(first).toMatchObject({
      status: 'registered',
      version: 1,
      compatibilityChange: { from: null, to: 'BACKWARD_TRANSITIVE' },
    });
    expect(await getSubjectCompatibility(config, subject)).toBe('BACKWARD_TRANSITIVE');

    const again = await applySubject(config, { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v1 });
    expect(again).toEqual({ subject, status: 'unchanged', id: (first as { id: number }).id, version: 1 });

    const dryRun = await applySubject(
      config,
      { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v2 },
      { dryRun: true },
    );
    expect(dryRun).toEqual({ subject, status: 'would_register' });
    expect(await lookupSchema(config, subject, v2)).toBeUndefined();

    const second = await applySubject(config, { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v2 });
    expect(second).toMatchObject({ status: 'registered', version: 2 });
    expect(second).not.toHaveProperty('compatibilityChange');
  });

  it.for([
    ['a field retyped (uint64 ts_ns → string)', retyped],
    ['a field renumbered (idempotency_key 3 → 7)', renumbered],
  ])('refuses %s after v1 and v2, with the registry message', async ([, breaking], ctx) => {
    const subject = randomSubject(ctx, config, 'schemas-break');
    await applySubject(config, { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v1 });
    await applySubject(config, { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: v2 });

    const dryRun = await applySubject(
      config,
      { subject, compatibility: 'BACKWARD_TRANSITIVE', schema: breaking as string },
      { dryRun: true },
    );
    expect(dryRun).toMatchObject({ subject, status: 'incompatible' });

    const outcome = await applySubject(config, {
      subject,
      compatibility: 'BACKWARD_TRANSITIVE',
      schema: breaking as string,
    });
    expect(outcome).toMatchObject({ subject, status: 'incompatible' });
    // The registry's words, whatever the implementation (Apicurio, Confluent), plus its error code.
    expect((outcome as { message: string }).message).toMatch(/incompatible/i);
    expect((outcome as { message: string }).message).toMatch(/error code 409/);
    expect(await lookupSchema(config, subject, breaking as string)).toBeUndefined();
  });
});

/** A topics folder in the format of topics/, with one topic whose value schema is `schemaFile`. */
function topicsFolder(subject: string, schemaFile: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'amoskys-schemas-'));
  mkdirSync(path.join(root, 'topics'));
  mkdirSync(path.join(root, 'schemas'));
  copyFileSync(schemaFile, path.join(root, 'schemas', 'value.proto'));
  const name = subject.replace(/-value$/, '');
  const topic = {
    name,
    role: 'raw',
    description: 'test topic',
    partitions: 1,
    replicationFactor: 1,
    config: { 'cleanup.policy': 'delete', 'retention.ms': 60_000, 'min.insync.replicas': 1 },
    key: 'device_id',
    valueSubject: subject,
    compatibility: 'BACKWARD_TRANSITIVE',
    valueSchema: { file: 'schemas/value.proto', message: 'amoskys.telemetry.v1.UniversalEnvelope' },
  };
  writeFileSync(path.join(root, 'topics', `${name}.yaml`), stringify(topic));
  return root;
}

function amoskys(args: string[]) {
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', `${repoRoot}/src/cli/main.ts`, ...args],
    { env: { ...process.env, ...inject('amoskysEnv') }, encoding: 'utf8', cwd: repoRoot },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('amoskys schemas apply', () => {
  it('registers, then reports unchanged, then refuses a breaking change naming the subject (exit 1)', async (ctx) => {
    const subject = randomSubject(ctx, config, 'schemas-cli');
    const good = topicsFolder(subject, envelopeSchema.file);
    const bad = topicsFolder(subject, `${repoRoot}/test/fixtures/schemas/telemetry-breaking.proto`);
    ctx.onTestFinished(() => {
      rmSync(good, { recursive: true, force: true });
      rmSync(bad, { recursive: true, force: true });
    });

    const first = amoskys(['schemas', 'apply', '--topics-dir', path.join(good, 'topics')]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`${subject}\\s+registered version 1, id \\d+`));
    expect(first.stdout).toContain('BACKWARD_TRANSITIVE (was unset');
    expect(first.stdout).toContain('amoskys.telemetry.v1.UniversalEnvelope [0]');

    const second = amoskys(['schemas', 'apply', '--topics-dir', path.join(good, 'topics')]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`${subject}\\s+unchanged: version 1, id \\d+`));

    const refused = amoskys(['schemas', 'apply', '--topics-dir', path.join(bad, 'topics')]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/REJECTED: incompatible/);
    expect(refused.stderr).toContain(`the registry rejected the schema of subject ${subject} (incompatible)`);
    expect(refused.stderr).toMatch(/incompatible.*error code 409/i);

    // The function behind the command says the same, as data.
    const outcomes = await applyTopicSchemas(config, path.join(bad, 'topics'));
    expect(outcomes).toEqual([
      expect.objectContaining({
        subject,
        status: 'incompatible',
        valueMessage: { name: 'amoskys.telemetry.v1.UniversalEnvelope', indexes: [0] },
      }),
    ]);
  });
});
