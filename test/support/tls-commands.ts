/**
 * `oedns tls-daemon` and `oedns tls-exec` as real processes, from the built dist/: through
 * dist/cli.js once it names them, until then through a small runner script that hands the same
 * exported CommandModules to yargs, as src/cli.ts does. Build first: `npx tsc -p tsconfig.json`.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');
const DIST = join(ROOT, 'dist');
const CLI = join(DIST, 'cli.js');

/** Whether dist/cli.js has the TLS commands wired (src/cli.ts is the lead's). */
function cliHasTlsCommands(): boolean {
  try {
    const text = readFileSync(CLI, 'utf8');
    return text.includes('tlsExecCommand') && text.includes('tlsDaemonCommand');
  } catch {
    return false;
  }
}

/** The argv prefix (`node SCRIPT`) that runs `oedns <command> ...`; a runner script goes into `dir` if needed. */
export async function oednsCommand(dir: string): Promise<readonly string[]> {
  if (cliHasTlsCommands()) return [process.execPath, CLI];
  const yargs = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('yargs')).href;
  const exec = pathToFileURL(join(DIST, 'tls', 'exec-command.js')).href;
  const daemon = pathToFileURL(join(DIST, 'tls', 'control', 'daemon-command.js')).href;
  const script = join(dir, 'oedns-tls-runner.mjs');
  await writeFile(script, [
    `import yargs from ${JSON.stringify(yargs)};`,
    `import { tlsExecCommand } from ${JSON.stringify(exec)};`,
    `import { tlsDaemonCommand } from ${JSON.stringify(daemon)};`,
    "await yargs(process.argv.slice(2)).scriptName('oedns').command(tlsExecCommand).command(tlsDaemonCommand).strict().parseAsync();",
  ].join('\n'));
  return [process.execPath, script];
}
