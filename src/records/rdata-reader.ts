/**
 * A strict cursor over one record's RDATA: every read checks that its bytes are there and
 * `end()` refuses leftovers, so truncated and overlong RDATA fail naming the type and the field.
 */
import { WireFormatError } from '../core/errors.js';

/** `IPSECKEY RDATA` or `IPSECKEY RDATA of www.example.com.`: how errors name the record. */
export function rdataLabel(typeName: string, owner?: string): string {
  return owner === undefined ? `${typeName} RDATA` : `${typeName} RDATA of ${owner}`;
}

export class RdataReader {
  private position = 0;

  constructor(readonly rdata: Uint8Array, readonly label: string) {}

  fail(reason: string): WireFormatError {
    return new WireFormatError(`${this.label}: ${reason}`);
  }

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.rdata.length - this.position;
  }

  private need(count: number, field: string): void {
    if (this.remaining < count) {
      throw this.fail(`truncated: ${field} needs ${count} bytes, ${this.remaining} left of ${this.rdata.length}`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.rdata[this.position++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const value = (this.rdata[this.position]! << 8) | this.rdata[this.position + 1]!;
    this.position += 2;
    return value;
  }

  /** An owned copy of the next `count` bytes. */
  bytes(count: number, field: string): Uint8Array {
    this.need(count, field);
    const value = this.rdata.slice(this.position, this.position + count);
    this.position += count;
    return value;
  }

  skip(count: number, field: string): void {
    this.need(count, field);
    this.position += count;
  }

  /** Everything left (an owned copy); `minimum` bytes at least. */
  rest(field: string, minimum = 0): Uint8Array {
    if (this.remaining < minimum) throw this.fail(`${field} is empty`);
    return this.bytes(this.remaining, field);
  }

  end(): void {
    if (this.remaining > 0) throw this.fail(`${this.remaining} bytes of trailing data after the last field`);
  }
}
