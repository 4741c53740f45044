/**
 * A decision as IPsec policies (issue 6's PolicySpec): what the backends get. Addresses come from
 * the parsed answer and keys as PEM made by node:crypto; the peer identity is the host's name as
 * decoded from the wire. IPv6 entries that install anything come with the Neighbor Discovery
 * bypass (ICMPv6 133-136), or IPv6 stops working under them.
 */
import type { PolicyAction, PolicySpec, TrafficSelector } from '../ipsec/index.js';
import type { FlowDecision } from '../policy/index.js';
import type { AddressDecision, HostDecision } from './decision.js';

const ICMPV6 = 58;
const NEIGHBOR_DISCOVERY: TrafficSelector = { protocol: ICMPV6, ports: [{ first: 133, last: 136 }] };

function actionOf(decision: AddressDecision): PolicyAction | undefined {
  const { action } = decision;
  switch (action.kind) {
    case 'protect':
      return { kind: 'protect', level: action.level, mode: action.mode ?? 'transport', gateway: action.mode === 'tunnel' ? action.gateway : undefined };
    case 'block':
      return { kind: 'block' };
    case 'pass':
      return { kind: 'pass' };
    case 'responder':
      return { kind: 'responder' };
    default:
      return undefined;
  }
}

/** Narrower entries a policy made for some traffic (protocol/port rules), before the deciding one. */
function narrowFlows(decision: AddressDecision): readonly FlowDecision[] {
  const flows = decision.policy?.flows ?? [];
  return flows.slice(0, -1).filter((f) => f.selector.protocol !== undefined && f.source.kind === 'rule');
}

function selectorOf(flow: FlowDecision): TrafficSelector {
  const ports = flow.selector.ports.length > 0 ? flow.selector.ports : flow.selector.icmpTypes.map((t) => ({ first: t, last: t }));
  return { protocol: flow.selector.protocol, ports };
}

export function specsOf(decision: HostDecision): PolicySpec[] {
  const specs: PolicySpec[] = [];
  for (const address of decision.addresses) {
    const action = actionOf(address);
    if (!action) continue;
    const keyed = address.action.kind === 'protect' || address.action.kind === 'responder';
    const peer = keyed && 'key' in address.action ? { identity: decision.name.toLowerCase(), publicKeyPem: address.action.key.spkiPem } : undefined;
    const settings = address.policy ? address.policy.flows.at(-1)?.settings : undefined;
    const base = { family: address.family, remote: address.address, peer, initiate: settings?.initiate === 'on-answer', proposals: settings?.proposals,
      shuntSeconds: settings?.shuntLifetimeSeconds };
    if (address.family === 6) specs.push({ ...base, selector: NEIGHBOR_DISCOVERY, action: { kind: 'pass' }, peer: undefined });
    for (const flow of narrowFlows(address)) {
      const install = flow.install;
      const narrow: PolicyAction | undefined = install.kind === 'block' ? { kind: 'block' } : install.kind === 'pass' ? { kind: 'pass' } : install.kind === 'policy' && peer ? action : undefined;
      if (narrow) specs.push({ ...base, selector: selectorOf(flow), action: narrow });
    }
    specs.push({ ...base, selector: {}, action });
  }
  return specs;
}
