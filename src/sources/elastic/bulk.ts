/**
 * The _bulk body: NDJSON pairs of an action line and a document line. `index`
 * and `create` store the document; `delete` and `update` get a per-item 400
 * (Cairn is append-only). A malformed action line refuses the whole request,
 * as Elasticsearch does, because the pairing of the lines after it is lost.
 */
import type { LogRecord } from '../../record/record.ts';
import type { JsonDefaults } from '../../record/normalize/json.ts';
import { HttpError } from '../../api/errors.ts';
import { byteLength, truncateUtf8 } from '../http/index.ts';
import { recordFromEcs } from './ecs.ts';

export type BulkAction = 'index' | 'create' | 'delete' | 'update';
const ACTIONS: ReadonlySet<string> = new Set(['index', 'create', 'delete', 'update']);

export interface ItemError {
  type: string;
  reason: string;
  /** The rejection reason counted in log_errors_total. */
  metric: string;
}

export interface BulkItem {
  action: BulkAction;
  index: string | null;
  id: string | null;
  record: LogRecord | null;
  error: ItemError | null;
}

export interface BulkLimits {
  maxActions: number;
  maxLineBytes: number;
  oversize: 'reject' | 'truncate';
  keepRaw: boolean;
}

function malformed(lineNo: number, what: string): HttpError {
  return new HttpError(400, 'invalid_bulk', `Malformed action/metadata line [${lineNo}]: ${what}`);
}

function itemError(type: string, reason: string, metric: string): ItemError {
  return { type, reason, metric };
}

export function parseBulk(text: string, defaultIndex: string | null, d: JsonDefaults, limits: BulkLimits): { items: BulkItem[]; truncated: number } {
  const lines = text.split('\n');
  const items: BulkItem[] = [];
  let truncated = 0;
  for (let i = 0; i < lines.length; i++) {
    const actionLine = lines[i]!.trim();
    if (actionLine === '') continue;
    const lineNo = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(actionLine);
    } catch (err) {
      throw malformed(lineNo, `not JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw malformed(lineNo, 'expected an object such as {"index":{}}');
    const keys = Object.keys(parsed);
    if (keys.length !== 1 || !ACTIONS.has(keys[0]!)) {
      throw malformed(lineNo, `expected one of [create, delete, index, update] but found [${keys.join(', ')}]`);
    }
    const action = keys[0] as BulkAction;
    const meta = (parsed as Record<string, unknown>)[action] ?? {};
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw malformed(lineNo, `the ${action} metadata must be an object`);
    const m = meta as Record<string, unknown>;
    const index = typeof m._index === 'string' && m._index !== '' ? m._index : defaultIndex;
    const id = typeof m._id === 'string' || typeof m._id === 'number' ? String(m._id) : null;
    if (items.length >= limits.maxActions) {
      throw new HttpError(413, 'body_too_large', `the bulk request has more than ${limits.maxActions} actions (sources.elastic.max_actions); send smaller batches`);
    }
    const item: BulkItem = { action, index, id, record: null, error: null };
    items.push(item);
    if (action === 'delete') {
      item.error = itemError('illegal_argument_exception', 'Cairn is append-only: the delete action is not supported', 'unsupported_action');
      continue;
    }
    i++;
    if (i >= lines.length || lines[i]!.trim() === '') throw malformed(lineNo, `the ${action} action is not followed by a document line`);
    const sourceLine = lines[i]!;
    if (action === 'update') {
      item.error = itemError('illegal_argument_exception', 'Cairn is append-only: the update action is not supported', 'unsupported_action');
      continue;
    }
    if (index === null) {
      item.error = itemError('action_request_validation_exception', 'Validation Failed: 1: index is missing;', 'invalid_record');
      continue;
    }
    const oversize = byteLength(sourceLine, limits.maxLineBytes) > limits.maxLineBytes;
    if (oversize && limits.oversize === 'reject') {
      item.error = itemError('document_parsing_exception', `the document is larger than ${limits.maxLineBytes} bytes (ingest.max_line_bytes)`, 'line_too_long');
      continue;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(sourceLine);
    } catch (err) {
      item.error = itemError('document_parsing_exception', `[${i + 1}:1] failed to parse: ${(err as Error).message}`, 'invalid_json');
      continue;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      item.error = itemError('document_parsing_exception', 'the document must be a JSON object', 'invalid_record');
      continue;
    }
    const result = recordFromEcs(doc as Record<string, unknown>, { index, id }, d);
    if ('error' in result) {
      item.error = itemError('document_parsing_exception', result.error, 'invalid_record');
      continue;
    }
    const record = result.record;
    if (oversize) {
      record.message = truncateUtf8(record.message, limits.maxLineBytes);
      record.attrs.truncated = true;
      truncated++;
    } else if (limits.keepRaw) {
      record.raw = sourceLine;
    }
    item.record = record;
  }
  return { items, truncated };
}
