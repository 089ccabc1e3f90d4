/**
 * The .proto files under proto/ (OTLP, google.rpc, Cairn's agent protocol),
 * loaded once with protobufjs. Imports resolve against proto/; the well-known
 * google/protobuf types come bundled with protobufjs.
 */
import { isAbsolute, join, resolve } from 'node:path';
import protobuf from 'protobufjs';

export const PROTO_DIR = resolve(import.meta.dirname, '..', '..', '..', 'proto');

const FILES = [
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'google/rpc/status.proto',
  'cairn/agent/v1/agent.proto',
];

let root: protobuf.Root | undefined;

export function protoRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_DIR, target));
    r.loadSync(FILES, { keepCase: false });
    r.resolveAll();
    root = r;
  }
  return root;
}

export function protoType(name: string): protobuf.Type {
  return protoRoot().lookupType(name);
}
