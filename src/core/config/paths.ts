/**
 * Files the configuration names indirectly: an empty setting means a file under the state folder.
 */
import path from 'node:path';
import type { Config } from './schema.ts';

/** The trust-store file: `processor.trustStore`, else `<stateDir>/keys/trust-store.json`. */
export function trustStoreFile(config: Pick<Config, 'processor' | 'stateDir'>): string {
  return config.processor.trustStore || path.join(config.stateDir, 'keys', 'trust-store.json');
}
