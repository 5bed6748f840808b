/**
 * The test stack from official images, used when a Docker engine is reachable (see provider.ts).
 * The same images as infra/compose. Cannot run on the project's own CI machines (no Docker
 * engine there); they use the native stack of infra/local instead.
 */
import { createServer } from 'node:net';
import path from 'node:path';
import { GenericContainer, Network, type StartedTestContainer, Wait } from 'testcontainers';
import { repoRoot } from '../../src/core/config/index.ts';

const images = {
  kafka: 'apache/kafka:4.1.1',
  registry: 'confluentinc/cp-schema-registry:7.9.1',
  clickhouse: 'clickhouse/clickhouse-server:25.8',
} as const;

/** A free TCP port on the host: Kafka must advertise the host port, so it is fixed up front. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Starts Kafka, Schema Registry, ClickHouse and snmpd; returns the AMOSKYS_* env pointing at them. */
export async function startContainers(): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const network = await new Network().start();
  const kafkaPort = await freePort();
  const started: StartedTestContainer[] = [];
  try {
    const kafka = await new GenericContainer(images.kafka)
      .withNetwork(network)
      .withNetworkAliases('kafka')
      .withExposedPorts({ container: kafkaPort, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@kafka:9093',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENERS: `HOST://:${kafkaPort},INTERNAL://:29092,CONTROLLER://:9093`,
        KAFKA_ADVERTISED_LISTENERS: `HOST://127.0.0.1:${kafkaPort},INTERNAL://kafka:29092`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'HOST:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
    started.push(kafka);

    const registry = await new GenericContainer(images.registry)
      .withNetwork(network)
      .withExposedPorts(8081)
      .withEnvironment({
        SCHEMA_REGISTRY_HOST_NAME: 'schema-registry',
        SCHEMA_REGISTRY_LISTENERS: 'http://0.0.0.0:8081',
        SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS: 'PLAINTEXT://kafka:29092',
      })
      .withWaitStrategy(Wait.forHttp('/subjects', 8081))
      .start();
    started.push(registry);

    const clickhouse = await new GenericContainer(images.clickhouse)
      .withExposedPorts(8123)
      .withEnvironment({
        CLICKHOUSE_USER: 'default',
        CLICKHOUSE_PASSWORD: 'amoskys',
        CLICKHOUSE_DB: 'amoskys',
      })
      .withWaitStrategy(Wait.forHttp('/ping', 8123))
      .start();
    started.push(clickhouse);

    const snmpdImage = await GenericContainer.fromDockerfile(
      path.join(repoRoot, 'infra', 'compose', 'snmpd'),
    ).build();
    const snmpd = await snmpdImage
      .withExposedPorts('1161/udp')
      .withWaitStrategy(Wait.forLogMessage(/NET-SNMP/))
      .start();
    started.push(snmpd);

    return {
      env: {
        AMOSKYS_KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
        AMOSKYS_REGISTRY_URL: `http://${registry.getHost()}:${registry.getMappedPort(8081)}`,
        AMOSKYS_CLICKHOUSE_URL: `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`,
        AMOSKYS_CLICKHOUSE_PASSWORD: 'amoskys',
        AMOSKYS_SNMP_HOST: snmpd.getHost(),
        AMOSKYS_SNMP_PORT: String(snmpd.getMappedPort('1161/udp')),
      },
      stop: async () => {
        for (const c of started.reverse()) await c.stop();
        await network.stop();
      },
    };
  } catch (err) {
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
    await network.stop().catch(() => undefined);
    throw err;
  }
}
