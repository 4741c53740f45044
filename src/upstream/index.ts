export { UpstreamPool, buildQuery, type UpstreamAnswer } from './upstream-pool.js';
export { matchesQuery, type SentQuery } from './match.js';
