/**
 * A policy directory: its `*.yaml` and `*.yml` files in lexical order (by code unit, the same in
 * every locale). Not loaded: hidden files (editors' temporaries), subdirectories, other
 * extensions, and `*.example.yaml` / `*.example.yml` — examples to copy, never active as shipped.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { PolicyError, wholeFile } from './errors.js';
import { parsePolicySet, type PolicySource } from './policy-file.js';
import type { PolicySet } from './rule.js';

export function isPolicyFileName(name: string): boolean {
  return /\.ya?ml$/.test(name) && !name.startsWith('.') && !/\.example\.ya?ml$/.test(name);
}

function failure(path: string, what: string, error: unknown): PolicyError {
  return new PolicyError([{ position: wholeFile(path), message: `cannot read ${what}: ${errorMessage(error)}` }], { cause: error });
}

/** The policy files of a directory with their text, in the order they are loaded. */
export async function readPolicyDir(dir: string): Promise<readonly PolicySource[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw failure(dir, 'the policy directory', error);
  }
  const names = entries.filter((e) => !e.isDirectory() && isPolicyFileName(e.name)).map((e) => e.name).sort();
  const sources: PolicySource[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (error) {
      throw failure(file, 'a policy file', error);
    }
  }
  return sources;
}

/** Reads and parses a directory; throws PolicyError naming every issue in every file. */
export async function loadPolicyDir(dir: string): Promise<PolicySet> {
  return parsePolicySet(await readPolicyDir(dir));
}
