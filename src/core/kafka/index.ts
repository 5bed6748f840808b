export { BatchProducer, type BatchProducerOptions, type OutgoingMessage } from './batch-producer.ts';
export { createKafka } from './client.ts';
export { explainKafkaConnectError } from './errors.ts';
export {
  type SupervisedConsumer,
  type SupervisedConsumerOptions,
  supervisedConsumer,
} from './supervised-consumer.ts';
export { checkBrokerTls, kafkaTlsOptions } from './tls.ts';
