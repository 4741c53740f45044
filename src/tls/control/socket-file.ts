/**
 * The daemon's UNIX socket file: who may connect is decided by its mode and group, so it must
 * never exist, even for a moment, with more access than asked. It is bound inside a private
 * 0700 directory beside its final path, given its mode and group there, and renamed into place.
 * A socket file nobody answers on (ECONNREFUSED: a crashed daemon's) is replaced; a live one, or
 * a file that is not a socket, is an error. On stop the file is unlinked if it is still ours.
 */
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rename, rm, unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { ConfigError, errorMessage, ListenError } from '../../core/errors.js';

/** Linux `sun_path` holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;
/** What the staging name (`/.XXXXXX/s`) adds to the directory's path. */
const STAGING_EXTRA_BYTES = 10;
const PROBE_TIMEOUT_MS = 1_000;
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const MAX_ID = 0xfffffffe;

export interface SocketFile {
  readonly path: string;
  /** Unlinks the file if it is still the one we bound. */
  remove(): Promise<void>;
}

/** `0660` (octal text) to a mode; only permission bits, no setuid/sticky. */
export function parseSocketMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new ConfigError(`--socket-mode ${JSON.stringify(text)} is not an octal mode like 0660`);
  return Number.parseInt(text, 8);
}

/** A group's number: digits as given, a name looked up in `groupFile` (/etc/group). */
export async function resolveGroup(group: string, groupFile = '/etc/group'): Promise<number> {
  if (/^[0-9]{1,10}$/.test(group) && Number(group) <= MAX_ID) return Number(group);
  if (!GROUP_NAME.test(group)) throw new ConfigError(`--socket-group ${JSON.stringify(group)} is neither a group name nor a number`);
  let text: string;
  try {
    text = await readFile(groupFile, 'utf8');
  } catch (error) {
    throw new ConfigError(`--socket-group ${group}: cannot read ${groupFile}: ${errorMessage(error)}`, { cause: error });
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^[0-9]{1,10}$/.test(gid)) return Number(gid);
  }
  throw new ConfigError(`--socket-group ${group}: no such group in ${groupFile}`);
}

/** Binds `server` at `path` with `mode` and (if given) group `gid`, as described above. */
export async function bindSocketFile(server: Server, path: string, mode: number, gid: number | undefined): Promise<SocketFile> {
  const dir = dirname(path);
  if (basename(path) === '' || path.endsWith('/')) throw new ListenError(`socket path ${path} names a directory`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES || Buffer.byteLength(dir) + STAGING_EXTRA_BYTES > MAX_SOCKET_PATH_BYTES) {
    throw new ListenError(`socket path ${path} is too long for a UNIX socket (at most ${MAX_SOCKET_PATH_BYTES} bytes)`);
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new ListenError(`cannot create the socket's directory ${dir}: ${errorMessage(error)}`, { cause: error });
  }
  await refuseLiveSocket(path);
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
    await chmod(staged, mode);
    if (gid !== undefined) await chown(staged, -1, gid);
    const st = await lstat(staged);
    await rename(staged, path);
    return { path, remove: () => removeIfOurs(path, st.dev, st.ino) };
  } catch (error) {
    server.close();
    throw error instanceof ListenError ? error : new ListenError(`cannot open socket ${path}: ${errorMessage(error)}`, { cause: error });
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
async function refuseLiveSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ListenError(`cannot check socket ${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (!isSocket) throw new ListenError(`${path} exists and is not a socket`);
  if (await answers(path)) throw new ListenError(`another daemon answers on ${path}; stop it or choose another --socket`);
}

/** Whether something accepts on the socket: refused (or gone) means stale; other errors are thrown. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => finish(true), PROBE_TIMEOUT_MS);
    function finish(live: boolean, error?: NodeJS.ErrnoException): void {
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(live);
      else reject(new ListenError(`cannot check socket ${path}: ${error.code ?? error.message}`, { cause: error }));
    }
    socket.once('connect', () => finish(true));
    socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? finish(false) : finish(false, error)));
  });
}
