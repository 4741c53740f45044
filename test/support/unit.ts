/** Small builders and assertions shared by the unit tests beside the code. */
import { expect } from 'vitest';
import type { AppError } from '../../src/core/errors.js';
import { RRClass, RRType, type ResourceRecord } from '../../src/wire/index.js';
import { nameToLabels } from '../../src/wire/name.js';

/** Asserts that `fn` throws an instance of `errorClass` (with that class's code) matching `pattern`. */
export function expectAppError(fn: () => unknown, errorClass: new (message: string) => AppError, pattern?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(errorClass);
  expect((caught as AppError).code).toBe(new errorClass('probe').code);
  if (pattern) expect((caught as AppError).message).toMatch(pattern);
}

/** Like expectAppError, for a promise that must reject. */
export async function expectAppRejection(promise: Promise<unknown>, errorClass: new (message: string) => AppError, pattern?: RegExp): Promise<void> {
  const caught = await promise.then(() => undefined, (error: unknown) => error);
  expect(caught).toBeInstanceOf(errorClass);
  expect((caught as AppError).code).toBe(new errorClass('probe').code);
  if (pattern) expect((caught as AppError).message).toMatch(pattern);
}

/** Uncompressed wire form of a name in presentation form (escapes allowed). */
export function nameWire(name: string): number[] {
  const out: number[] = [];
  for (const label of nameToLabels(name)) out.push(label.length, ...label);
  out.push(0);
  return out;
}

export function u32(value: number): number[] {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

export function rr(name: string, type: number, ttl: number, rdata: number[]): ResourceRecord {
  return { name, type, class: RRClass.IN, ttl, rdata: Uint8Array.from(rdata) };
}

/** An SOA record of `example.com.` with the given TTL and MINIMUM (the RFC 2308 negative TTL). */
export function soaRecord(ttl: number, minimumSeconds: number, owner = 'example.com.'): ResourceRecord {
  return rr(owner, RRType.SOA, ttl, [
    ...nameWire(`ns1.${owner}`), ...nameWire(`hostmaster.${owner}`),
    ...u32(1), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(minimumSeconds),
  ]);
}
