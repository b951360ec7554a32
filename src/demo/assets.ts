import { readdirSync } from 'node:fs';
import path from 'node:path';

/** The compiled folders a browser may load: the SDK, the wire types it imports, the page's script. */
const BROWSER_DIRS = ['sdk', 'wire', 'demo/browser'];

/**
 * The ES modules the demo page may load, as their path under dist/ (the URL path below the
 * assets prefix) → the file. Built once from a directory listing: a request can only name one
 * of these, and nothing from a URL is ever joined onto a file path.
 */
export function browserModules(distDir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of BROWSER_DIRS) {
    let names: string[];
    try {
      names = readdirSync(path.join(distDir, dir));
    } catch {
      continue; // not built: the caller warns
    }
    for (const name of names) {
      if (name.endsWith('.js')) files.set(`${dir}/${name}`, path.join(distDir, dir, name));
    }
  }
  return files;
}
