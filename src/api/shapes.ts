/** Response shapes shared with the web UI (web/src/lib/api.ts imports them as types); no imports, so the UI's build can read this file. */

export interface PatternJson {
  template_id: string;
  /** Null for an id the template store no longer knows (evicted, or mined before a crash). */
  template: string | null;
  count: number;
  first_seen: string | null;
  last_seen: string | null;
  example: string | null;
  /** Ids of records in the range that were mined before their template merged into this one. */
  merged_ids: string[];
}
