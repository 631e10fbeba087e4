/** A protobuf wire-format reader for the few BuildKit messages imagespec decodes by hand (progress, workers). */

export class ProtoReader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error("truncated varint");
      const byte = this.buf[this.pos++]!;
      // Multiplication, not <<, so values above 2^31 (nanosecond-scale int64s) stay exact enough.
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error("varint too long");
    }
  }
  bytes(): Uint8Array {
    const length = this.varint();
    const start = this.pos;
    this.pos += length;
    if (this.pos > this.end) throw new Error("truncated field");
    return this.buf.subarray(start, this.pos);
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
  /** Calls `field` for each (number, wire type); the callback reads the value or returns false to skip it. */
  fields(field: (number: number, wireType: number) => boolean): void {
    while (!this.done) {
      const key = this.varint();
      const number = Math.floor(key / 8);
      const wireType = key & 7;
      if (!field(number, wireType)) this.skip(wireType);
    }
  }
  message<T>(read: (reader: ProtoReader) => T): T {
    const bytes = this.bytes();
    return read(new ProtoReader(bytes));
  }
}
