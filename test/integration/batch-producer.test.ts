import { describe, expect, it } from 'vitest';
import { BatchProducer } from '../../src/core/kafka/index.ts';
import { createLogger } from '../../src/core/logging/index.ts';
import { createMetricsRegistry } from '../../src/core/metrics/index.ts';
import { testConfig } from '../helpers/config.ts';
import { randomTopic, testKafka, waitForMessages } from '../helpers/kafka.ts';

describe('BatchProducer', () => {
  it('delivers every message once, in order per key, in far fewer requests than messages', async (ctx) => {
    const kafka = testKafka(testConfig());
    const topic = await randomTopic(ctx, kafka, { purpose: 'batch', partitions: 3 });
    const registry = createMetricsRegistry('test');
    const producer = new BatchProducer(kafka, createLogger({ level: 'silent' }), {
      metrics: registry,
      maxBatchMessages: 200,
    });
    await producer.start();
    ctx.onTestFinished(() => producer.close());

    const devices = 10;
    const perDevice = 100;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < perDevice; i++) {
      for (let d = 0; d < devices; d++) {
        sends.push(producer.send({ topic, key: `device-${d}`, value: Buffer.from(`${d}:${i}`) }));
      }
    }
    await Promise.all(sends);

    const received = await waitForMessages(kafka, topic, devices * perDevice);
    expect(received).toHaveLength(devices * perDevice);
    const byDevice = new Map<string, number[]>();
    for (const m of received) {
      const [d, i] = (m.value?.toString() ?? '').split(':');
      byDevice.set(d as string, [...(byDevice.get(d as string) ?? []), Number(i)]);
    }
    for (const sequence of byDevice.values()) {
      expect(sequence).toEqual(Array.from({ length: perDevice }, (_, i) => i));
    }

    const batches = (await registry.getSingleMetric('amoskys_kafka_batch_messages')?.get())?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'amoskys_kafka_batch_messages_count',
    )?.value;
    expect(batches).toBeGreaterThanOrEqual(5);
    expect(batches).toBeLessThan(50);
    const produced = (await registry.getSingleMetric('amoskys_kafka_messages_produced_total')?.get())
      ?.values[0]?.value;
    expect(produced).toBe(devices * perDevice);
  });
});
