import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Giving memory back is confined to src/memory/: a rule that recycled a raw array itself could
 * hand out a buffer something still reads (wrong numbers, no error). Rules take temporaries as
 * a Scratch; the engine reports slots to the walk's tracker; nothing else touches the pool.
 */
const src = fileURLToPath(new URL('../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('memory reuse lives in one module', () => {
  it('no file outside src/memory/ calls recycleBuffer or takeBuffer, or imports the pool, except the allocator', () => {
    const offenders: string[] = [];
    for (const file of sources(src)) {
      const rel = relative(src, file).split('\\').join('/');
      if (rel.startsWith('memory/')) continue;
      const text = readFileSync(file, 'utf8');
      if (/\brecycleBuffer\b/.test(text)) offenders.push(`${rel}: recycleBuffer`);
      // dtype.ts's allocators are the pool's one taker.
      if (rel !== 'tensor/dtype.ts' && /\btakeBuffer\b|memory\/pool\.js/.test(text)) offenders.push(`${rel}: the pool itself`);
    }
    expect(offenders).toEqual([]);
    expect(sources(src).length).toBeGreaterThan(50); // the walk really read the tree
  });
});
