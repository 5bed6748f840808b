export { type ClickHouseOptions, createClickHouse } from './client.ts';
