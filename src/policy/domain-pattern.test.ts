import { describe, expect, it } from 'vitest';
import { domainMatches, domainPatternWithin, formatDomainPattern, nameLabels, parseDomainPattern, type DomainPattern } from './domain-pattern.js';

function pattern(text: string): DomainPattern {
  const parsed = parseDomainPattern(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function matches(patternText: string, name: string): boolean {
  const labels = nameLabels(name);
  return labels !== undefined && domainMatches(pattern(patternText), labels);
}

describe('domain patterns', () => {
  it('matches an exact name, case-insensitively, with or without the root dot (RFC 4343)', () => {
    expect(matches('www.example.org', 'WWW.Example.ORG.')).toBe(true);
    expect(matches('www.example.org.', 'www.example.org')).toBe(true);
    expect(matches('www.example.org', 'a.www.example.org')).toBe(false);
    expect(matches('www.example.org', 'example.org')).toBe(false);
  });

  it('matches a zone and everything below it with a leading dot', () => {
    expect(matches('.example.org', 'example.org')).toBe(true);
    expect(matches('.example.org', 'a.b.example.org')).toBe(true);
    expect(matches('.example.org', 'badexample.org')).toBe(false);
    expect(matches('.example.org', 'example.org.evil')).toBe(false);
  });

  it('matches exactly one label with *, in any position', () => {
    expect(matches('*.example.org', 'www.example.org')).toBe(true);
    expect(matches('*.example.org', 'example.org')).toBe(false);
    expect(matches('*.example.org', 'a.b.example.org')).toBe(false);
    expect(matches('www.*.example.org', 'www.eu.example.org')).toBe(true);
    expect(matches('*', 'anything.at.all')).toBe(true);
  });

  it('refuses names that are not names', () => {
    expect(nameLabels('')).toBeUndefined();
    expect(nameLabels('a..b')).toBeUndefined();
    expect(nameLabels(`${'a'.repeat(64)}.org`)).toBeUndefined();
    expect(nameLabels(`${'abcdefghi.'.repeat(26)}org`)).toBeUndefined();
    expect(nameLabels('-a.org')).toBeUndefined();
    expect(nameLabels('_443._tcp.example.org')).toEqual(['_443', '_tcp', 'example', 'org']);
  });

  it('knows which patterns lie within others (for shadowed-rule warnings)', () => {
    const within = (a: string, b: string): boolean => domainPatternWithin(pattern(a), pattern(b));
    expect(within('www.example.org', '.example.org')).toBe(true);
    expect(within('example.org', '.example.org')).toBe(true);
    expect(within('*.example.org', '.example.org')).toBe(true);
    expect(within('.a.example.org', '.example.org')).toBe(true);
    expect(within('.example.org', '.a.example.org')).toBe(false);
    expect(within('www.example.org', '*.example.org')).toBe(true);
    expect(within('.example.org', '*.example.org')).toBe(false);
    expect(within('www.*', '.example.org')).toBe(false);
    expect(within('*', 'www.example.org')).toBe(false);
    expect(within('.example.org', '*')).toBe(true);
    expect(['*', '.example.org', '*.example.org', 'www.example.org'].map((t) => formatDomainPattern(pattern(t))))
      .toEqual(['*', '.example.org', '*.example.org', 'www.example.org']);
  });
});
