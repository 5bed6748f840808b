/**
 * `topics apply`: makes the broker match topics/. Computes a plan first (create, add partitions,
 * change settings), prints it, then applies it. Running it twice changes nothing the second time.
 * Partitions are never reduced (Kafka cannot) and replication factor changes are refused: both
 * are reported as errors in the plan instead of half-applied.
 */
import kafkajs, { type Admin } from 'kafkajs';
import type { ResolvedTopic } from './spec.ts';

// kafkajs is CommonJS; Node's ESM loader cannot see this export by name.
const { ConfigResourceTypes } = kafkajs;

/** One difference between topics/ and the broker. */
export type TopicChange =
  | {
      kind: 'create';
      topic: string;
      partitions: number;
      replicationFactor: number;
      config: Record<string, string>;
    }
  | { kind: 'partitions'; topic: string; from: number; to: number }
  | { kind: 'config'; topic: string; key: string; from: string | undefined; to: string }
  | { kind: 'error'; topic: string; message: string };

/** The current state of one topic on the broker, as far as topics/ manages it. */
export interface BrokerTopic {
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
}

/** Pure: what must change so that the broker matches the specs. */
export function planTopicChanges(
  topics: readonly ResolvedTopic[],
  broker: ReadonlyMap<string, BrokerTopic>,
): TopicChange[] {
  const changes: TopicChange[] = [];
  for (const t of topics) {
    const current = broker.get(t.name);
    if (current === undefined) {
      changes.push({
        kind: 'create',
        topic: t.name,
        partitions: t.spec.partitions,
        replicationFactor: t.spec.replicationFactor,
        config: t.config,
      });
      continue;
    }
    if (current.partitions > t.spec.partitions) {
      changes.push({
        kind: 'error',
        topic: t.name,
        message: `has ${current.partitions} partitions, the file asks for ${t.spec.partitions}; Kafka cannot remove partitions`,
      });
    } else if (current.partitions < t.spec.partitions) {
      changes.push({ kind: 'partitions', topic: t.name, from: current.partitions, to: t.spec.partitions });
    }
    if (current.replicationFactor !== t.spec.replicationFactor) {
      changes.push({
        kind: 'error',
        topic: t.name,
        message: `replication factor is ${current.replicationFactor}, the file says ${t.spec.replicationFactor}; change it with a partition reassignment, not here`,
      });
    }
    for (const [key, value] of Object.entries(t.config)) {
      if (current.config[key] !== value) {
        changes.push({ kind: 'config', topic: t.name, key, from: current.config[key], to: value });
      }
    }
  }
  return changes;
}

/** Human-readable plan, one line per change, `+` create, `~` change, `!` error. */
export function describeChange(change: TopicChange): string {
  switch (change.kind) {
    case 'create': {
      const settings = Object.entries(change.config)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      return `+ ${change.topic}: create with ${change.partitions} partitions, replication ${change.replicationFactor}, ${settings}`;
    }
    case 'partitions':
      return `~ ${change.topic}: partitions ${change.from} -> ${change.to}`;
    case 'config':
      return `~ ${change.topic}: ${change.key} ${change.from ?? '(broker default)'} -> ${change.to}`;
    case 'error':
      return `! ${change.topic}: ${change.message}`;
  }
}

/** Reads the broker's view of the given topics (absent ones are missing from the map). */
export async function readBrokerTopics(
  admin: Admin,
  names: readonly string[],
): Promise<Map<string, BrokerTopic>> {
  const existing = new Set(await admin.listTopics());
  const present = names.filter((n) => existing.has(n));
  const result = new Map<string, BrokerTopic>();
  if (present.length === 0) return result;
  const { topics } = await admin.fetchTopicMetadata({ topics: present });
  const described = await admin.describeConfigs({
    resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
    includeSynonyms: false,
  });
  for (const meta of topics) {
    const resource = described.resources.find((r) => r.resourceName === meta.name);
    const config: Record<string, string> = {};
    for (const entry of resource?.configEntries ?? []) {
      // Only overrides count as set: a broker default is not the topic's own setting.
      if (!entry.isDefault) config[entry.configName] = entry.configValue;
    }
    result.set(meta.name, {
      partitions: meta.partitions.length,
      replicationFactor: meta.partitions[0]?.replicas.length ?? 0,
      config,
    });
  }
  return result;
}

/**
 * Applies a plan. Settings use alterConfigs, which replaces a topic's overrides as a whole, so
 * every managed setting of the topic is sent together, never one key alone.
 */
export async function applyTopicChanges(
  admin: Admin,
  topics: readonly ResolvedTopic[],
  changes: readonly TopicChange[],
): Promise<void> {
  const creates = changes.filter((c) => c.kind === 'create');
  if (creates.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: creates.map((c) => ({
        topic: c.topic,
        numPartitions: c.partitions,
        replicationFactor: c.replicationFactor,
        configEntries: Object.entries(c.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const grow = changes.filter((c) => c.kind === 'partitions');
  if (grow.length > 0) {
    await admin.createPartitions({ topicPartitions: grow.map((c) => ({ topic: c.topic, count: c.to })) });
  }
  const reconfigure = new Set(changes.filter((c) => c.kind === 'config').map((c) => c.topic));
  if (reconfigure.size > 0) {
    await admin.alterConfigs({
      validateOnly: false,
      resources: topics
        .filter((t) => reconfigure.has(t.name))
        .map((t) => ({
          type: ConfigResourceTypes.TOPIC,
          name: t.name,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
    });
  }
}
