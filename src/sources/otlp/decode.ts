/**
 * OTLP request bodies → ExportLogsServiceRequest messages. Protobuf decodes
 * with protobufjs; OTLP/JSON is the protobuf JSON mapping with lowerCamelCase
 * keys, except that trace and span ids are hex (not base64), so those are
 * turned into bytes before protobufjs' fromObject checks and converts the rest
 * (64-bit integers as strings or numbers, enums as numbers).
 */
import { HttpError } from '../../api/errors.ts';
import type { OtlpExportRequest } from '../../record/normalize/otlp.ts';
import { protoType } from '../grpc/proto.ts';

const REQUEST = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest';
const RESPONSE = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse';

export function decodeOtlpProtobuf(body: Uint8Array): OtlpExportRequest {
  try {
    return protoType(REQUEST).decode(body) as OtlpExportRequest;
  } catch (err) {
    throw new HttpError(400, 'invalid_protobuf', `the body is not a valid protobuf ExportLogsServiceRequest: ${(err as Error).message}`);
  }
}

type JsonObject = Record<string, unknown>;

function objects(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter((v): v is JsonObject => typeof v === 'object' && v !== null) : [];
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** traceId/spanId hex text → bytes, in place; a bad id is an error naming its position. */
function hexIdsToBytes(doc: JsonObject): void {
  objects(doc.resourceLogs).forEach((rl, ri) => {
    objects(rl.scopeLogs).forEach((sl, si) => {
      objects(sl.logRecords).forEach((lr, li) => {
        for (const field of ['traceId', 'spanId'] as const) {
          const v = lr[field];
          if (typeof v !== 'string') continue;
          if (!HEX.test(v)) {
            throw new HttpError(400, 'invalid_json', `resourceLogs[${ri}].scopeLogs[${si}].logRecords[${li}].${field}: expected hex digits, got ${JSON.stringify(v.slice(0, 40))}`);
          }
          lr[field] = Buffer.from(v, 'hex');
        }
      });
    });
  });
}

export function decodeOtlpJson(body: Buffer): OtlpExportRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new HttpError(400, 'invalid_json', 'the body must be a JSON object (an OTLP ExportLogsServiceRequest)');
  }
  hexIdsToBytes(doc as JsonObject);
  try {
    return protoType(REQUEST).fromObject(doc) as OtlpExportRequest;
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `the body is not a valid OTLP/JSON ExportLogsServiceRequest: ${(err as Error).message}`);
  }
}

/** ExportLogsServiceResponse fields; partialSuccess only when something was rejected. */
export interface OtlpResponse {
  partialSuccess?: { rejectedLogRecords: number; errorMessage: string };
}

export function encodeOtlpResponse(res: OtlpResponse, json: boolean): Buffer {
  if (json) {
    const p = res.partialSuccess;
    // OTLP/JSON writes 64-bit integers as decimal strings.
    return Buffer.from(JSON.stringify(p ? { partialSuccess: { rejectedLogRecords: String(p.rejectedLogRecords), errorMessage: p.errorMessage } } : {}));
  }
  const type = protoType(RESPONSE);
  return Buffer.from(type.encode(type.fromObject(res)).finish());
}

/** A google.rpc.Status body, the error response of OTLP/HTTP. */
export function encodeRpcStatus(code: number, message: string, json: boolean): Buffer {
  if (json) return Buffer.from(JSON.stringify({ code, message }));
  const type = protoType('google.rpc.Status');
  return Buffer.from(type.encode({ code, message }).finish());
}
