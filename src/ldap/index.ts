export { createUserKeyCheck, type UserKeyDeps } from './user-keys.js';
