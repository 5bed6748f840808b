export { BatchProducer, type BatchProducerOptions, type OutgoingMessage } from './batch-producer.ts';
export { createKafka } from './client.ts';
export { explainKafkaConnectError } from './errors.ts';
export { checkBrokerTls, kafkaTlsOptions } from './tls.ts';
