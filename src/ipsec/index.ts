/** IPsec backends (issue 6): decisions become kernel or IKE daemon state. */
export type {
  BackendName, CanonicalAddress, InstalledPolicy, IpsecBackend, Peer, PolicyAction, PolicyChange, PolicySpec, TrafficSelector,
} from './backend.js';
