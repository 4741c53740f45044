export { createUserKeyCheck, weakest, type UserKeyChecker, type UserKeyDeps, type UserKeyStats } from './user-keys.js';
export { decodeSrv, findKeyServers, KEY_SERVER_SERVICE, orderSrv, type KeyServers, type KeyServerTarget, type SrvRdata } from './srv.js';
export { baseDnOf, parseUserAddress, type UserAddress } from './address.js';
