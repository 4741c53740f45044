/**
 * The interface every IPsec backend implements (issue 6): install and remove transport-mode (or,
 * by policy, tunnel-mode) policies for an address pair, list what oedns installed, reconcile.
 * Inputs are plain data re-serialised from parsed bytes (addresses in canonical text, keys as
 * SPKI PEM); no backend ever copies DNS text into a command line, a script or a config file.
 */
/** RFC 5952 / dotted-quad text of an address that was parsed, never text from the network. */
export type CanonicalAddress = string;

/** Traffic a policy covers beyond the address pair; undefined protocol: any traffic. */
export interface TrafficSelector {
  /** IANA protocol number (6 TCP, 17 UDP, 58 ICMPv6, ...). */
  readonly protocol?: number | undefined;
  /** Remote ports (TCP/UDP/SCTP), or ICMP types; empty: all. */
  readonly ports?: readonly { readonly first: number; readonly last: number }[] | undefined;
}

export type PolicyAction =
  /** ESP in transport mode (or tunnel mode to `gateway`), level as xfrm spells it: required|use. */
  | { readonly kind: 'protect'; readonly level: 'require' | 'use'; readonly mode: 'transport' | 'tunnel'; readonly gateway?: CanonicalAddress | undefined }
  /** Drop (the `block` action, and `require` without a usable key). */
  | { readonly kind: 'block' }
  /** An explicit bypass above any trap (failure shunt under `use`, ICMPv6 Neighbor Discovery). */
  | { readonly kind: 'pass' }
  /** Accept the peer's IKE with its key, initiate nothing (`clear-or-private`; IKE backends only). */
  | { readonly kind: 'responder' };

/** Who is at the other end, for IKE backends: the FQDN identity and the key from DNS. */
export interface Peer {
  /** Absolute FQDN, lowercase, as parsed from the wire (`alice.lab.example.`). */
  readonly identity: string;
  /** SubjectPublicKeyInfo PEM of the key found in DNS. */
  readonly publicKeyPem: string;
}

/** One policy for one address pair and selector. */
export interface PolicySpec {
  readonly family: 4 | 6;
  /** This host's address towards `remote`; undefined: any local address. */
  readonly local?: CanonicalAddress | undefined;
  readonly remote: CanonicalAddress;
  readonly selector: TrafficSelector;
  readonly action: PolicyAction;
  /** Required for `protect` and `responder` with an IKE backend. */
  readonly peer?: Peer | undefined;
  /** IKE backends with `initiate: on-answer`: bring the CHILD_SA up before returning. */
  readonly initiate?: boolean | undefined;
  /** How long a failed IKE with this peer keeps its failure shunt (the deciding rule's shunt-lifetime). */
  readonly shuntSeconds?: number | undefined;
  /** Proposal hints for the vici backend. */
  readonly proposals?: { readonly ike: readonly string[]; readonly esp: readonly string[] } | undefined;
}

export interface PolicyChange {
  readonly op: 'add' | 'remove';
  readonly policy: PolicySpec;
}

/** What a backend reports as installed by oedns (recognised by its mark/priority band or name). */
export interface InstalledPolicy extends PolicySpec {
  readonly backend: BackendName;
  /** Backend-specific handle: the xfrm index, the VICI conn name, ... */
  readonly handle: string;
}

/** 'helper': a HelperBackend before it has learnt the name of the backend its helper drives. */
export type BackendName = 'dry-run' | 'xfrm' | 'setkey' | 'vici' | 'racoon' | 'helper';

export interface IpsecBackend {
  readonly name: BackendName;
  /**
   * Applies the changes in order. Atomic per address pair: when the second direction of a pair
   * fails, the first is removed before the error is thrown. Throws BackendError naming the
   * command or request that failed (with its stderr or error text).
   */
  apply(changes: readonly PolicyChange[], signal: AbortSignal): Promise<void>;
  /** The policies oedns installed, as the kernel or daemon reports them now. */
  list(signal: AbortSignal): Promise<readonly InstalledPolicy[]>;
  /** Removes everything oedns installed (SIGTERM, and reconciling after a crash). */
  removeAll(signal: AbortSignal): Promise<void>;
}
