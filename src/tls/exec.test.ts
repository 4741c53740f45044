import { describe, expect, it } from 'vitest';
import { programEnvironment, rfc2253, TLS_ENV_NAMES } from './exec.js';

describe('the program environment', () => {
  it('prints DNs as mod_ssl does by default (RFC 2253: last RDN first)', () => {
    expect(rfc2253('C=DE\nO=Ex\\, Inc.\nCN=mail.example.test')).toBe('CN=mail.example.test,O=Ex\\, Inc.,C=DE');
    expect(rfc2253('CN=only')).toBe('CN=only');
  });

  it('drops inherited variables of the names it sets, so none is stale or forged', () => {
    const inherited = Object.fromEntries(TLS_ENV_NAMES.map((name) => [name, 'forged']));
    const env = programEnvironment({ ...inherited, PATH: '/bin', TCPREMOTEIP: 'kept' }, { PROTO: 'SSL', OEDNS_AUTH: 'none' });
    expect(env).toEqual({ PATH: '/bin', TCPREMOTEIP: 'kept', PROTO: 'SSL', OEDNS_AUTH: 'none' });
  });
});
