/**
 * Domain patterns of the policy language, compared case-insensitively (ASCII, RFC 4343):
 *   `www.example.org`    exactly that name;
 *   `.example.org`       example.org and every name below it (the zone and its subdomains);
 *   `*.example.org`      exactly one label below example.org (`*` stands for one whole label,
 *                        in any position: `www.*.example.org`);
 *   `*` alone            any name (the same as leaving `domains` out).
 * A trailing dot is allowed and ignored. IDNs are written in their A-label (`xn--`) form.
 */

export type DomainPattern =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly labels: readonly string[] }
  | { readonly kind: 'suffix'; readonly labels: readonly string[] }
  | { readonly kind: 'wildcard'; readonly labels: readonly string[] };

/** RFC 1035 §2.3.4: labels of 63 octets, names of 255 octets on the wire (253 in text). */
const MAX_LABEL_LENGTH = 63;
const MAX_NAME_TEXT_LENGTH = 253;
/** Letters, digits, hyphen (RFC 952/1123), and underscore for service labels such as `_443._tcp`. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/** The labels of a name, lower-cased, without the root; undefined when it is not a usable name. */
export function nameLabels(name: string): readonly string[] | undefined {
  const text = name.endsWith('.') ? name.slice(0, -1) : name;
  if (text === '' || text.length > MAX_NAME_TEXT_LENGTH) return undefined;
  const labels = text.toLowerCase().split('.');
  return labels.every((l) => l.length <= MAX_LABEL_LENGTH && LABEL.test(l)) ? labels : undefined;
}

/** Reads a pattern; returns the reason as a string when it is not one. */
export function parseDomainPattern(text: string): DomainPattern | string {
  if (text === '*') return { kind: 'any' };
  const suffix = text.startsWith('.');
  const body = suffix ? text.slice(1) : text;
  const labels = nameLabels(body.replaceAll('*', 'x'));
  if (labels === undefined) {
    return `"${text}" is not a domain pattern (letters, digits, "-", "_" in labels of up to 63; "*" as a whole label; ".example.org" for a zone and below)`;
  }
  const written = body.toLowerCase().replace(/\.$/, '').split('.');
  if (written.some((l) => l.includes('*') && l !== '*')) return `"${text}": "*" must be a whole label, as in "*.example.org"`;
  if (suffix && written.includes('*')) return `"${text}": a suffix pattern takes no "*"; write ".example.org" or "*.example.org"`;
  if (suffix) return { kind: 'suffix', labels: written };
  return written.includes('*') ? { kind: 'wildcard', labels: written } : { kind: 'exact', labels: written };
}

function endsWith(labels: readonly string[], tail: readonly string[]): boolean {
  if (tail.length > labels.length) return false;
  const offset = labels.length - tail.length;
  return tail.every((label, i) => labels[offset + i] === label);
}

/** Whether a name (as labels from nameLabels) matches a pattern. */
export function domainMatches(pattern: DomainPattern, labels: readonly string[]): boolean {
  switch (pattern.kind) {
    case 'any': return true;
    case 'suffix': return endsWith(labels, pattern.labels);
    case 'exact':
    case 'wildcard':
      return labels.length === pattern.labels.length && pattern.labels.every((p, i) => p === '*' || p === labels[i]);
  }
}

/** True when every name `inner` matches is also matched by `outer` (for shadowed-rule warnings). */
export function domainPatternWithin(inner: DomainPattern, outer: DomainPattern): boolean {
  if (outer.kind === 'any') return true;
  if (inner.kind === 'any') return false;
  if (outer.kind === 'suffix') {
    const tail = inner.labels.slice(inner.labels.length - outer.labels.length);
    return inner.labels.length >= outer.labels.length && !tail.includes('*') && endsWith(inner.labels, outer.labels);
  }
  if (inner.kind === 'suffix') return false;
  return inner.labels.length === outer.labels.length
    && outer.labels.every((p, i) => p === '*' || p === inner.labels[i]);
}

export function formatDomainPattern(pattern: DomainPattern): string {
  switch (pattern.kind) {
    case 'any': return '*';
    case 'suffix': return `.${pattern.labels.join('.')}`;
    default: return pattern.labels.join('.');
  }
}
