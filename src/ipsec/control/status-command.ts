/**
 * `oedns status [--json] [--control-socket PATH]`: asks a running oedns over its control socket
 * which IPsec policies it holds, and prints them as a table or as JSON. Exit status 1 when no
 * oedns answers there.
 */
import type { CommandModule } from 'yargs';
import { errorMessage } from '../../core/errors.js';
import { controlRequest, type ControlRequestOptions } from './control-client.js';
import { DEFAULT_CONTROL_SOCKET } from './control-server.js';
import { parseStatusReport } from './status-parse.js';
import { formatStatus } from './status-format.js';

export interface StatusCommandOptions extends ControlRequestOptions {
  readonly path: string;
  readonly json: boolean;
  readonly write: (line: string) => void;
  readonly writeError: (line: string) => void;
}

/** Exit status: 0 with the status printed, 1 when it could not be had (the reason on writeError). */
export async function runStatus(options: StatusCommandOptions): Promise<number> {
  try {
    const response = await controlRequest(options.path, 'status', options);
    const report = parseStatusReport(response['status']);
    // --json prints what the server sent (checked above), so fields newer than this client survive.
    if (options.json) options.write(JSON.stringify(response['status'], null, 2));
    else for (const line of formatStatus(report)) options.write(line);
    return 0;
  } catch (error) {
    options.writeError(`oedns: ${errorMessage(error)}`);
    return 1;
  }
}

interface StatusArgs {
  readonly json: boolean;
  readonly 'control-socket': string;
}

/** For `yargs().command(statusCommand)` in src/cli.ts. */
export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'show the IPsec policies a running oedns holds (name, addresses, level, backend, expiry)',
  builder: (y) => y
    .option('json', { type: 'boolean', default: false, describe: 'print the status as one JSON object' })
    .option('control-socket', { type: 'string', default: DEFAULT_CONTROL_SOCKET, describe: 'the control socket of oedns serve' }),
  handler: async (argv) => {
    process.exitCode = await runStatus({
      path: argv['control-socket'],
      json: argv.json,
      write: (line) => process.stdout.write(`${line}\n`),
      writeError: (line) => process.stderr.write(`${line}\n`),
    });
  },
};
