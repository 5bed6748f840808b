export { createRegistry } from './client.ts';
