/**
 * `oedns record ipseckey|tlsa …`: zone-file lines for a key or certificate, like hash-slinger.
 * Reads the named file, prints one line on stdout; a bad flag or file prints `oedns: <reason>`
 * on stderr and sets exit status 2, as the other commands do.
 */
import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { errorMessage } from '../core/errors.js';
import { ipseckeyLine, tlsaLine } from './record-lines.js';

export interface RecordOutput {
  write(line: string): void;
  fail(message: string): void;
}

const processOutput: RecordOutput = {
  write: (line) => process.stdout.write(`${line}\n`),
  fail: (message) => {
    process.stderr.write(`oedns: ${message}\n`);
    process.exitCode = 2;
  },
};

async function run(build: () => Promise<string>, output: RecordOutput): Promise<void> {
  try {
    output.write(await build());
  } catch (error) {
    output.fail(errorMessage(error));
  }
}

async function readInput(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`${flag} ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

const ttlOption = { type: 'number', describe: 'TTL in seconds (default: none, the zone\'s $TTL applies)' } as const;

interface IpseckeyArgs {
  readonly name: string;
  readonly key: string;
  readonly gateway: string | undefined;
  readonly precedence: number;
  readonly ttl: number | undefined;
}

interface TlsaArgs {
  readonly name: string;
  readonly cert: string;
  readonly usage: number;
  readonly selector: number;
  readonly matching: number;
  readonly port: number;
  readonly proto: string;
  readonly ttl: number | undefined;
}

function ipseckeyCommand(output: RecordOutput): CommandModule<object, IpseckeyArgs> {
  return {
    command: 'ipseckey <name>',
    describe: 'an IPSECKEY record (RFC 4025) for a public key',
    builder: (y: Argv<object>) => y
      .positional('name', { type: 'string', demandOption: true, describe: 'the host\'s domain name' })
      .option('key', { type: 'string', demandOption: true, describe: 'PEM file of an RSA, DSA, ECDSA P-256/P-384, Ed25519 or Ed448 key: public, private or a certificate' })
      .option('gateway', { type: 'string', describe: 'IPv4 or IPv6 address or domain name of the IPsec gateway (default: none, the host itself)' })
      .option('precedence', { type: 'number', default: 10, describe: 'lower is tried first (RFC 4025 §2.2)' })
      .option('ttl', ttlOption) as unknown as Argv<IpseckeyArgs>,
    handler: (argv) => run(async () => ipseckeyLine({
      name: argv.name, keyPem: (await readInput(argv.key, '--key')).toString('utf8'),
      gateway: argv.gateway, precedence: argv.precedence, ttlSeconds: argv.ttl,
    }), output),
  };
}

function tlsaCommand(output: RecordOutput): CommandModule<object, TlsaArgs> {
  return {
    command: 'tlsa <name>',
    describe: 'a TLSA record (RFC 6698) for a certificate, at _PORT._PROTO.NAME',
    builder: (y: Argv<object>) => y
      .positional('name', { type: 'string', demandOption: true, describe: 'the service\'s domain name' })
      .option('cert', { type: 'string', demandOption: true, describe: 'PEM or DER X.509 certificate file' })
      .option('usage', { type: 'number', default: 3, describe: '0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE' })
      .option('selector', { type: 'number', default: 1, describe: '0 full certificate, 1 SubjectPublicKeyInfo' })
      .option('matching', { type: 'number', default: 1, describe: '0 full, 1 SHA-256, 2 SHA-512' })
      .option('port', { type: 'number', default: 443, describe: 'service port' })
      .option('proto', { type: 'string', default: 'tcp', choices: ['tcp', 'udp', 'sctp'], describe: 'transport protocol' })
      .option('ttl', ttlOption) as unknown as Argv<TlsaArgs>,
    handler: (argv) => run(async () => tlsaLine({
      name: argv.name, certificate: new Uint8Array(await readInput(argv.cert, '--cert')),
      usage: argv.usage, selector: argv.selector, matchingType: argv.matching, port: argv.port, protocol: argv.proto,
      ttlSeconds: argv.ttl,
    }), output),
  };
}

/** `oedns record ipseckey|tlsa`; `output` is for tests (default: stdout, stderr and exit status 2). */
export function recordCommand(output: RecordOutput = processOutput): CommandModule {
  return {
    command: 'record',
    describe: 'print a zone-file line for a key (ipseckey) or certificate (tlsa)',
    builder: (y: Argv) => y
      .command(ipseckeyCommand(output))
      .command(tlsaCommand(output))
      .demandCommand(1, 'name a record type: ipseckey or tlsa'),
    handler: () => undefined,
  };
}
