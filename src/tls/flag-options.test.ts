import { expect, it } from 'vitest';
import yargs from 'yargs';
import { tlsFlagsFromArgv, withTlsFlagOptions } from './flag-options.js';
import { FLAG_WORDS, NO_FLAGS } from './session.js';

const parse = (args: readonly string[]) => tlsFlagsFromArgv(withTlsFlagOptions(yargs([...args])).strict().parseSync());

it('reads each control-socket flag word as --WORD, all checks on by default (seed 000 §4.1.1)', () => {
  expect(parse([])).toEqual(NO_FLAGS);
  for (const [word, field] of Object.entries(FLAG_WORDS)) {
    expect(parse([`--${word}`])).toEqual({ ...NO_FLAGS, [field]: true });
  }
  expect(parse(['--no-dnssec', '--ignore-bogus', '--no-dane', '--no-ldap'])).toEqual({ noDnssec: true, ignoreBogus: true, noDane: true, noLdap: true });
});
