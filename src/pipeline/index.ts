export { Resolver, type AnswerValidator, type ClientInfo, type ResolverStats } from './resolver.js';
export { answerFor, encodeForTransport, errorFor, udpLimit, type ClientQuery } from './respond.js';
