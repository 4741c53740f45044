/**
 * Anti-spoofing: an upstream answer counts only if it is a response to exactly the query sent:
 * same ID, same question (name compared case-insensitively, type, class). The transport checks
 * the source address and port.
 */
import { namesEqual, typeName, type Message, type Question } from '../wire/index.js';

export interface SentQuery {
  readonly id: number;
  readonly question: Question;
}

export function matchesQuery(message: Message, sent: SentQuery): string | undefined {
  if (!message.qr) return 'not a response (QR=0)';
  if (message.id !== sent.id) return `ID ${message.id} instead of ${sent.id}`;
  const q = message.questions[0];
  // RFC 5452 §9.1: the question section of the answer must match the question asked.
  if (message.questions.length !== 1 || !q) return `${message.questions.length} questions instead of 1`;
  if (q.type !== sent.question.type || q.class !== sent.question.class || !namesEqual(q.name, sent.question.name)) {
    return `question ${q.name}/${typeName(q.type)} does not match the query`;
  }
  return undefined;
}
