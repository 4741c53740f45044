/**
 * The negative flags (seed 000 §4.1.1) as command-line options, spelled as the control socket's
 * words (FLAG_WORDS): `--no-dnssec`, `--ignore-bogus`, `--no-dane`, `--no-ldap`. yargs reads
 * `--no-X` as X=false, so dnssec, dane and ldap are booleans on by default, as `--no-keys` is
 * for serve; only ignore-bogus is a positive switch.
 */
import type { Argv } from 'yargs';
import type { TlsFlags } from './session.js';

export function withTlsFlagOptions<T>(y: Argv<T>) {
  return y
    .option('dnssec', { type: 'boolean', default: true, describe: '--no-dnssec: accept unsigned DNS data (addresses, TLSA, SRV); bogus data is still refused', group: 'Checks (seed 000 flags):' })
    .option('ignore-bogus', { type: 'boolean', default: false, describe: 'use bogus DNS data as if it were unsigned (so only together with --no-dnssec)', group: 'Checks (seed 000 flags):' })
    .option('dane', { type: 'boolean', default: true, describe: '--no-dane: check domain certificates by PKIX against the CA store instead of TLSA', group: 'Checks (seed 000 flags):' })
    .option('ldap', { type: 'boolean', default: true, describe: '--no-ldap: check user certificates by PKIX against the CA store instead of the key server', group: 'Checks (seed 000 flags):' });
}

/** TlsFlags from the parsed options of withTlsFlagOptions. */
export function tlsFlagsFromArgv(argv: Record<string, unknown>): TlsFlags {
  return {
    noDnssec: argv['dnssec'] === false,
    ignoreBogus: argv['ignore-bogus'] === true,
    noDane: argv['dane'] === false,
    noLdap: argv['ldap'] === false,
  };
}
