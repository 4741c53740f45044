export { Listeners } from './listeners.js';
export type { QueryHandler, ClientAddress } from './handler.js';
export { listenError } from './bind-error.js';
