// Install-time build of the optional native addon (native/). It must never fail an install:
// without node-gyp (a consumer install, where it is only a devDependency), without a compiler,
// or on any build error it prints one line and exits 0; chainrule then uses WebAssembly.
// CHAINRULE_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');

function skip(why) {
  console.log(`chainrule: native addon not built (${why}); the WebAssembly backend will be used.`);
  process.exit(0);
}

try {
  if (process.env.CHAINRULE_NATIVE === '0') skip('CHAINRULE_NATIVE=0');
  if (!existsSync(join(nativeDir, 'binding.gyp'))) skip('no native/ sources');
  let gyp;
  try {
    gyp = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    skip('node-gyp is not installed');
  }
  const args = [gyp, 'rebuild', '--directory', nativeDir];
  // Use the running Node's own headers when they are on disk, so the build works offline.
  const prefix = join(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const res = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 300_000 });
  if (res.status !== 0) {
    const tail = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
    if (process.env.CHAINRULE_NATIVE_VERBOSE) console.log(tail);
    skip(`build failed${res.error ? `: ${res.error.message}` : ''}; set CHAINRULE_NATIVE_VERBOSE=1 for the log`);
  }
  console.log('chainrule: native addon built (native/build/Release/chainrule_native.node).');
} catch (e) {
  skip(String(e));
}
process.exit(0);
