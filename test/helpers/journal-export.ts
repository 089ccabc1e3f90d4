/** Journal export format writers for tests: text fields `NAME=value\n`, binary-safe fields `NAME\n<le64 size><bytes>\n`. */

export function textField(name: string, value: string): Buffer {
  return Buffer.from(`${name}=${value}\n`);
}

export function binaryField(name: string, value: Buffer | string): Buffer {
  const bytes = Buffer.from(value);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([Buffer.from(`${name}\n`), size, bytes, Buffer.from('\n')]);
}

/** One entry: its fields, then the empty line. */
export function exportEntry(...fields: Buffer[]): Buffer {
  return Buffer.concat([...fields, Buffer.from('\n')]);
}
