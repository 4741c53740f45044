/**
 * Policy files: YAML text to rules. A file is
 *
 *   version: 1          # optional; the only version so far
 *   fallback: true      # optional; this file's rules are tried after every other file's
 *   rules:              # tried in order; across files, in lexical file order
 *     - domains: .example.org
 *       action: use
 *
 * Everything wrong in a file is reported, each at its line and column; one wrong thing rejects
 * the whole set (a half-loaded policy could silently drop a `require`).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { PolicyError, type PolicyIssue } from './errors.js';
import type { PolicyRule, PolicySet } from './rule.js';
import { parseRule } from './rule-parser.js';
import { YamlReader } from './yaml-reader.js';

const FILE_KEYS = ['version', 'fallback', 'rules'] as const;
const POLICY_VERSION = 1;

/** The text of one policy file and the name it is reported under. */
export interface PolicySource {
  readonly file: string;
  readonly text: string;
}

export interface PolicyFile {
  readonly file: string;
  readonly fallback: boolean;
  readonly rules: readonly PolicyRule[];
}

function yamlIssues(reader: YamlReader, text: string, errors: readonly { code: string; message: string; pos: [number, number] }[]): void {
  for (const error of errors) {
    // A plain `*` starts a YAML alias; say how to write the wildcard instead.
    const hint = error.code === 'BAD_ALIAS' && text[error.pos[0]] === '*' ? ' (write the wildcard quoted: "*")' : '';
    reader.issues.push({ position: reader.positionAt(error.pos[0]), message: `not valid YAML: ${error.message}${hint}` });
  }
}

function readRules(reader: YamlReader, node: Node): PolicyRule[] {
  if (!isSeq(node)) {
    reader.fail(node, '"rules" must be a list of rules (each item starting with "- ")');
    return [];
  }
  const rules: PolicyRule[] = [];
  for (const item of node.items as (Node | null)[]) {
    if (item === null) {
      reader.fail(node, '"rules" has an empty item');
      continue;
    }
    const rule = parseRule(reader, item, rules.length);
    if (rule) rules.push(rule);
  }
  return rules;
}

function inFileOrder(issues: readonly PolicyIssue[]): readonly PolicyIssue[] {
  return [...issues].sort((a, b) => a.position.line - b.position.line || a.position.column - b.position.column);
}

/** Parses one file; throws PolicyError listing every issue in it. */
export function parsePolicyFile(source: PolicySource): PolicyFile {
  const lines = new LineCounter();
  const reader = new YamlReader(source.file, lines);
  const doc = parseDocument(source.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  yamlIssues(reader, source.text, [...doc.errors, ...doc.warnings]);
  if (reader.issues.length > 0) throw new PolicyError(reader.issues);
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return { file: source.file, fallback: false, rules: [] };
  if (!isMap(root)) throw new PolicyError([{ position: reader.positionOf(root), message: 'a policy file must be a mapping with "rules" (and optionally "version", "fallback")' }]);
  // `rules:` with nothing under it (every rule commented out) is a file without rules.
  const rulesValue: unknown = root.get('rules', true);
  if (isScalar(rulesValue) && rulesValue.value === null) root.delete('rules');
  const fields = reader.mapping(root, 'the file', FILE_KEYS);
  const version = fields?.get('version');
  if (version) reader.integer(version.value, 'version', POLICY_VERSION, POLICY_VERSION);
  const fallbackField = fields?.get('fallback');
  const fallback = fallbackField ? reader.boolean(fallbackField.value, 'fallback') ?? false : false;
  const rulesField = fields?.get('rules');
  const rules = rulesField ? readRules(reader, rulesField.value) : [];
  if (reader.issues.length > 0) throw new PolicyError(inFileOrder(reader.issues));
  return { file: source.file, fallback, rules };
}

/**
 * Parses every file and puts their rules in the order they are tried: files without `fallback`
 * in the order given (the loader gives lexical order), then the fallback files. Issues from all
 * files are reported together.
 */
export function parsePolicySet(sources: readonly PolicySource[]): PolicySet {
  const files: PolicyFile[] = [];
  const issues: PolicyError[] = [];
  for (const source of sources) {
    try {
      files.push(parsePolicyFile(source));
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      issues.push(error);
    }
  }
  if (issues.length > 0) throw new PolicyError(issues.flatMap((e) => e.issues));
  const ordered = [...files.filter((f) => !f.fallback), ...files.filter((f) => f.fallback)];
  const rules = ordered.flatMap((f) => f.rules).map((rule, index) => ({ ...rule, index }));
  return { files: ordered.map((f) => f.file), rules };
}
