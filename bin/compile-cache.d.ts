/** See compile-cache.js. */
export function compileCacheDir(root: string): string;
