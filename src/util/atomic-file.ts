/**
 * Small state files (tokens, agent configs) that a CLI writes while a server
 * reads them: a write goes to a temp file, is fsynced and renamed into place,
 * so a reader sees the old file or the new one, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Every write renames a new file into place, so inode, mtime and size together tell a change. */
export function fileVersion(file: string): string {
  const st = statSync(file);
  return `${st.ino}:${st.mtimeMs}:${st.size}`;
}

/**
 * A JSON state file shared between processes: `read()` returns the current
 * contents, re-reading the file when another process replaced it (checked at
 * most once a second unless forced); a file that does not parse keeps the
 * last good contents; `write()` replaces it atomically.
 */
export class SharedJsonFile<T> {
  readonly file: string;
  private value: T;
  private version = '';
  private lastCheck = 0;
  private readonly empty: () => T;
  private readonly onChange: ((before: T, after: T) => void) | undefined;

  constructor(file: string, empty: () => T, onChange?: (before: T, after: T) => void) {
    this.file = file;
    this.empty = empty;
    this.onChange = onChange;
    this.value = empty();
    this.read(true);
  }

  read(force = false): T {
    const now = Date.now();
    if (!force && now - this.lastCheck < 1000) return this.value;
    this.lastCheck = now;
    let version: string;
    try {
      version = fileVersion(this.file);
    } catch {
      version = 'missing';
    }
    if (version === this.version) return this.value;
    const before = this.value;
    try {
      this.value = version === 'missing' ? this.empty() : (JSON.parse(readFileSync(this.file, 'utf8')) as T);
    } catch {
      // A hand-edited file that does not parse: keep serving the last good contents.
      return this.value;
    }
    this.version = version;
    this.onChange?.(before, this.value);
    return this.value;
  }

  write(value: T): void {
    writeFileAtomic(this.file, JSON.stringify(value, null, 2) + '\n');
    this.value = value;
    this.version = fileVersion(this.file);
  }
}
