import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * chainrule's version, from its package.json: found upward from this module, which sits at
 * src/cli/ under tsx and at dist/cli/ once built.
 */
export function chainruleVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'chainrule' && typeof pkg.version === 'string') return (cached = pkg.version);
      } catch {
        // not ours, or unreadable: keep looking
      }
    }
    dir = dirname(dir);
  }
  return (cached = 'unknown');
}
