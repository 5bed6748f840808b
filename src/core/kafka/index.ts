export { BatchProducer, type BatchProducerOptions, type OutgoingMessage } from './batch-producer.ts';
export { createKafka } from './client.ts';
