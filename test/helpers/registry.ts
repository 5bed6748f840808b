import { randomBytes } from 'node:crypto';
import type { TestContext } from 'vitest';
import type { Config } from '../../src/core/config/index.ts';
import { deleteSubject } from '../../src/core/registry/index.ts';

/**
 * A random Schema Registry subject for one test (`amoskys.test.<purpose>-<random>.v1-value`),
 * deleted when the test finishes: soft delete, then permanent, as the Confluent API requires.
 */
export function randomSubject(ctx: TestContext, config: Config, purpose = 'subject'): string {
  const subject = `amoskys.test.${purpose}-${randomBytes(4).toString('hex')}.v1-value`;
  ctx.onTestFinished(async () => {
    await deleteSubject(config, subject);
    await deleteSubject(config, subject, { permanent: true });
  });
  return subject;
}
