import type { PolicySpec } from './backend.js';

/**
 * What makes two policies the same SPD entry: the address pair and the selector. Two names that
 * resolve to one address share the entry (refcounted by the PolicyManager).
 */
export function policyKey(policy: PolicySpec): string {
  const ports = (policy.selector.ports ?? []).map((p) => `${p.first}-${p.last}`).join(',');
  return `${policy.local ?? '*'}>${policy.remote}|${policy.selector.protocol ?? 'any'}|${ports}`;
}

/** Whether two specs for the same entry ask for the same state (else the entry is replaced). */
export function sameAction(a: PolicySpec, b: PolicySpec): boolean {
  return JSON.stringify([a.action, a.peer?.identity, a.peer?.publicKeyPem]) === JSON.stringify([b.action, b.peer?.identity, b.peer?.publicKeyPem]);
}
