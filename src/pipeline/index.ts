export { Resolver, type AnswerValidator, type ClientInfo, type ResolverStats } from './resolver.js';
export { answerFor, encodeForTransport, errorFor, udpLimit, type ClientQuery } from './respond.js';
export { DecisionBus, type DecisionListener, type Settled } from './decision-bus.js';
export {
  defaultDecision, hostKeyFor, sameAddress,
  type AddressAction, type AddressDecision, type AnsweredAddress, type Decide, type DecisionInput, type HostDecision, type PeerKey,
} from './decision.js';
export {
  finalName, gatherHostKeys, TIMED_OUT, tlsaPortKey,
  type CertEntry, type HostKeys, type IpseckeyEntry, type KeySet, type KeyStatus, type LookupPlan, type TlsaPort, type ValidatedAnswer, type ValidatedLookup,
} from './host-keys.js';
export { addressesOf, KeyBroker, type KeyBrokerDeps, type Release } from './key-broker.js';
export { keyOutcome, policyDecide, policyInput, policyPlan, type PolicyDecideOptions } from './policy-decision.js';
export { specsOf } from './intents.js';
