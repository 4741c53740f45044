/** oedns' version, from package.json (two levels up from src/core/ and from dist/core/ alike). */
import { createRequire } from 'node:module';

export const OEDNS_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
