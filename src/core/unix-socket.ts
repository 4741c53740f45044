/**
 * Group-restricted UNIX socket files (the control socket of `oedns status`, the TLS daemon's):
 * who may connect is decided by the file's mode and group, so it must never exist, even for a
 * moment, with more access than asked. It is bound inside a private 0700 staging directory beside
 * its final path, given its mode and group there, and renamed into place. A socket file nobody
 * answers on (ECONNREFUSED: a crashed process's) is replaced; a live one, or a file that is not a
 * socket, is an error. `remove()` unlinks the file only while it is still the one bound here.
 */
import { chmod, chown, lstat, mkdir, mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { ConfigError, errorMessage } from './errors.js';

/** Linux `sun_path` holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;
/** What the staging name (`/.XXXXXX/s`) adds to the directory's path. */
const STAGING_EXTRA_BYTES = 10;
/** A directory made for the socket: others may reach the socket, whose own mode decides. */
const PARENT_DIRECTORY_MODE = 0o755;
const PROBE_TIMEOUT_MS = 1_000;
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const MAX_ID = 0xfffffffe;

export interface SocketFileOptions {
  readonly mode: number;
  readonly gid?: number | undefined;
  /** How messages name the socket: `control socket`, `TLS daemon socket`. */
  readonly label: string;
  /** Who answers on a live one: `another oedns is running: its control socket … answers`. */
  readonly owner: string;
  /** The flag that chooses the path, for the advice in messages. */
  readonly flag: string;
  /** The caller's error class for a message (and its cause). */
  readonly error: (message: string, cause?: unknown) => Error;
}

export interface SocketFile {
  readonly path: string;
  /** Unlinks the file if it is still the one bound; a file already gone is no error. */
  remove(): Promise<void>;
}

/** `0660` (octal text) to a mode; only permission bits, no setuid/sticky. */
export function parseSocketMode(text: string, flag: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new ConfigError(`${flag} ${JSON.stringify(text)} is not an octal mode like 0660`);
  return Number.parseInt(text, 8);
}

/** A group's number: digits as given, a name through NSS (`getent group NAME`), as ls and chgrp see it. */
export async function resolveGroup(group: string, flag: string): Promise<number> {
  if (/^[0-9]{1,10}$/.test(group) && Number(group) <= MAX_ID) return Number(group);
  if (!GROUP_NAME.test(group)) throw new ConfigError(`${flag} ${JSON.stringify(group)} is neither a group name nor a number`);
  const found = await execa('getent', ['group', group], { reject: false });
  const gid = found.exitCode === 0 ? found.stdout.split('\n')[0]?.split(':')[2] : undefined;
  if (gid === undefined || !/^[0-9]{1,10}$/.test(gid)) throw new ConfigError(`${flag} ${group}: no such group`);
  return Number(gid);
}

/** Binds `server` at `path` with the options' mode and group, as described above. */
export async function bindSocketFile(server: Server, path: string, options: SocketFileOptions): Promise<SocketFile> {
  const { label, error: fail } = options;
  const dir = dirname(path);
  if (basename(path) === '' || path.endsWith('/')) throw fail(`${label} path ${path} names a directory`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES || Buffer.byteLength(dir) + STAGING_EXTRA_BYTES > MAX_SOCKET_PATH_BYTES) {
    throw fail(`${label} path ${path} is too long for a UNIX socket (at most ${MAX_SOCKET_PATH_BYTES} bytes, its directory at most ${MAX_SOCKET_PATH_BYTES - STAGING_EXTRA_BYTES})`);
  }
  try {
    await mkdir(dir, { recursive: true, mode: PARENT_DIRECTORY_MODE });
  } catch (error) {
    throw fail(`cannot create the ${label}'s directory ${dir}: ${errorMessage(error)}`, error);
  }
  await refuseLiveSocket(path, options);
  const staging = await mkdtemp(join(dir, '.'));
  const staged = join(staging, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(staged, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(staged, options.mode);
    if (options.gid !== undefined) await chown(staged, -1, options.gid);
    const st = await lstat(staged);
    await rename(staged, path);
    return { path, remove: () => removeIfOurs(path, st.dev, st.ino) };
  } catch (error) {
    server.close();
    throw fail(`cannot open ${label} ${path}: ${errorMessage(error)}`, error);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function removeIfOurs(path: string, dev: number, ino: number): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.dev === dev && st.ino === ino) await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Throws when `path` is not a socket, or is a socket something answers on; a stale one is left to be replaced. */
async function refuseLiveSocket(path: string, options: SocketFileOptions): Promise<void> {
  const { label, flag, error: fail } = options;
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fail(`cannot check ${label} ${path}: ${errorMessage(error)}`, error);
  }
  if (!isSocket) throw fail(`${path} exists and is not a socket; remove it or choose another ${flag}`);
  if (await answers(path, options)) throw fail(`another ${options.owner} is running: its ${label} ${path} answers; stop it or choose another ${flag}`);
}

/**
 * Whether something accepts connections on the socket (or does not refuse in time: a full
 * backlog). Refused or gone: false, the socket is stale. Anything else (EACCES): throws.
 */
function answers(path: string, options: SocketFileOptions): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => finish(true), PROBE_TIMEOUT_MS);
    function finish(live: boolean, error?: NodeJS.ErrnoException): void {
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(live);
      else reject(options.error(`cannot check ${options.label} ${path}: ${error.code ?? error.message}`, error));
    }
    socket.once('connect', () => finish(true));
    socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? finish(false) : finish(false, error)));
  });
}
