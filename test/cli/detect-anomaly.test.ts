import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAnomalyEnabled } from '../../src/index.js';
import { cli, tempDir } from './helpers.js';

describe('train --detect-anomaly', () => {
  const dir = tempDir('anomaly');
  const csv = join(dir, 'data.csv');
  const rows = ['a,b,y'];
  for (let i = 0; i < 40; i++) rows.push(`${i % 3},${(i * 7) % 5},${i % 2}`);
  writeFileSync(csv, rows.join('\n'));
  const base = ['train', '--csv', csv, '--label-column', 'y', '--layers', '2,64,2', '--epochs', '2', '--optimizer', 'sgd', '--quiet'];

  it('stops at the first op that overflows, naming it in one line, and leaves the mode off after', async () => {
    // lr 1e38: after one step the weights are near float32's limit, and the next product overflows
    const r = await cli(...base, '--lr', '1e38', '--detect-anomaly');
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^chainrule train: (linear|matmul|add|mul|crossEntropyIndex): (produced|in the backward of)[^\n]*(NaN|Infinity).*\(anomaly mode\)$/);
    expect(lines[0]).toMatch(/(called|recorded) at \S+:\d+:\d+/); // the first caller outside chainrule: here the test's helper
    expect(isAnomalyEnabled()).toBe(false);
  });

  it('changes nothing in a healthy run', async () => {
    const plain = await cli(...base, '--lr', '0.05');
    const watched = await cli(...base, '--lr', '0.05', '--detect-anomaly');
    expect(watched.code).toBe(0);
    expect(watched.stdout.replace(/[\d.]+s\b/g, 'T')).toBe(plain.stdout.replace(/[\d.]+s\b/g, 'T'));
  });
});
