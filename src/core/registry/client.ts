import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from '../config/index.ts';

/**
 * A client of the Confluent-compatible Schema Registry (Apicurio's ccompat API locally,
 * Confluent Schema Registry in compose). Its protobuf message-index handling has open bugs, so
 * code that frames messages checks the wire format itself (see DESIGN.md).
 */
export function createRegistry(config: Config): SchemaRegistry {
  const { url, username, password } = config.registry;
  return new SchemaRegistry({
    host: url,
    ...(username !== undefined && password !== undefined ? { auth: { username, password } } : {}),
  });
}
