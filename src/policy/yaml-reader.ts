/**
 * Reading typed values out of a YAML document's nodes while keeping their place: every complaint
 * is collected as an issue at the node's line and column (yaml's LineCounter), so one pass
 * reports everything wrong in a file.
 */
import { isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, type Pair } from 'yaml';
import type { PolicyIssue, SourcePosition } from './errors.js';

/** A value read from the document, with the node it came from (for later, cross-field errors). */
export interface Located<T> {
  readonly value: T;
  readonly node: Node;
}

export class YamlReader {
  readonly issues: PolicyIssue[] = [];

  constructor(readonly file: string, private readonly lines: LineCounter) {}

  positionOf(node: Node | null | undefined): SourcePosition {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  positionAt(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  fail(node: Node | null | undefined, message: string): undefined {
    this.issues.push({ position: this.positionOf(node), message });
    return undefined;
  }

  /** The pairs of a mapping with string keys; unknown keys are issues (with a suggestion). */
  mapping(node: Node, what: string, known: readonly string[]): ReadonlyMap<string, Located<Node>> | undefined {
    if (!isMap(node)) return this.fail(node, `${what} must be a mapping of keys (${known.join(', ')})`);
    const entries = new Map<string, Located<Node>>();
    for (const pair of node.items as Pair<unknown, unknown>[]) {
      const keyNode = pair.key as Node | null;
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
        this.fail(keyNode ?? node, `${what} has a key that is not a plain word`);
        continue;
      }
      const key = keyNode.value;
      if (!known.includes(key)) {
        const hint = closest(key, known);
        this.fail(keyNode, `unknown key "${key}" in ${what}${hint ? ` (did you mean "${hint}"?)` : ''}; known keys: ${known.join(', ')}`);
        continue;
      }
      const value = pair.value as Node | null;
      if (value === null || (isScalar(value) && value.value === null)) {
        this.fail(keyNode, `"${key}" has no value`);
        continue;
      }
      entries.set(key, { value, node: keyNode });
    }
    return entries;
  }

  /** A scalar's value; aliases and collections are issues. */
  scalar(node: Node, key: string): unknown {
    if (isAlias(node)) return this.fail(node, `"${key}": YAML aliases are not allowed in policies`);
    if (!isScalar(node)) return this.fail(node, `"${key}" must be a single value, not a ${isSeq(node) ? 'list' : 'mapping'}`);
    return node.value;
  }

  string(node: Node, key: string): string | undefined {
    const value = this.scalar(node, key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return this.fail(node, `"${key}" must be text, got ${String(value)}`);
    return value;
  }

  /** One of a table's words, with the aliases it accepts. */
  word<T extends string>(node: Node, key: string, words: readonly T[], aliases: Readonly<Record<string, T>> = {}): T | undefined {
    const text = this.string(node, key);
    if (text === undefined) return undefined;
    const found = (words as readonly string[]).includes(text) ? (text as T) : aliases[text];
    if (found !== undefined) return found;
    const all = [...words, ...Object.keys(aliases)];
    const hint = closest(text, all);
    return this.fail(node, `unknown ${key} "${text}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${all.join(', ')}`);
  }

  integer(node: Node, key: string, min: number, max: number): number | undefined {
    const value = this.scalar(node, key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.fail(node, `"${key}" must be a whole number from ${min} to ${max}, got ${String(value)}`);
    }
    return value;
  }

  boolean(node: Node, key: string): boolean | undefined {
    const value = this.scalar(node, key);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') return this.fail(node, `"${key}" must be true or false, got ${String(value)}`);
    return value;
  }

  /** A single scalar or a list of scalars, each with its node. */
  items(node: Node, key: string): readonly Located<unknown>[] | undefined {
    if (isSeq(node)) {
      const items: Located<unknown>[] = [];
      for (const item of node.items as (Node | null)[]) {
        const value = item === null ? this.fail(node, `"${key}" has an empty item`) : this.scalar(item, key);
        if (value !== undefined && item !== null) items.push({ value, node: item });
      }
      return items.length === node.items.length ? items : undefined;
    }
    const value = this.scalar(node, key);
    return value === undefined ? undefined : [{ value, node }];
  }

  /** Like items, every one text. */
  strings(node: Node, key: string): readonly Located<string>[] | undefined {
    const items = this.items(node, key);
    if (items === undefined) return undefined;
    const bad = items.find((i) => typeof i.value !== 'string');
    if (bad) return this.fail(bad.node, `"${key}" takes text, got ${String(bad.value)}`);
    return items as readonly Located<string>[];
  }
}

/** The known word within edit distance 2 of a misspelt one, for "did you mean". */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
