export { createKafka } from './client.ts';
