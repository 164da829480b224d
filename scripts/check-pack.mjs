#!/usr/bin/env node
// The package as a user installs it: `npm pack`, install the tarball into an empty project, and
// use its public entry points there (chainrule, chainrule/inspect, chainrule/io). Run by .ci/run
// and by hand: `node scripts/check-pack.mjs`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'chainrule-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
try {
  run('npm', ['pack', '--silent', '--pack-destination', work], root);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  const app = join(work, 'app');
  run('mkdir', ['-p', app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  // --ignore-scripts: the addon's compile step is not what this checks (.ci/run checks it).
  run('npm', ['install', '--silent', '--ignore-scripts', '--no-audit', '--no-fund', join(work, tarball)], app);
  writeFileSync(
    join(app, 'check.mjs'),
    `import { tensor, nn, saveToBytes, loadFromBytes } from 'chainrule';
import { explain } from 'chainrule/inspect';
import { save, load, readIdx, readCsv, saveCheckpoint, loadCheckpoint } from 'chainrule/io';
const m = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
await save(m.stateDict(), 'model.safetensors');
const back = await load('model.safetensors');
const m2 = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
m2.loadStateDict(back);
const same = Object.entries(m.stateDict()).every(([k, v]) => JSON.stringify(v.toArray()) === JSON.stringify(m2.stateDict()[k].toArray()));
if (!same) throw new Error('round trip changed the state dict');
if (loadFromBytes(saveToBytes({ x: tensor([1, 2]) })).x.toArray()[1] !== 2) throw new Error('bytes round trip');
for (const f of [explain, readIdx, readCsv, saveCheckpoint, loadCheckpoint]) if (typeof f !== 'function') throw new Error('missing export');
console.log('installed package OK:', Object.keys(back).join(' '));
`,
  );
  process.stdout.write(run('node', ['check.mjs'], app));
} finally {
  rmSync(work, { recursive: true, force: true });
}
