/**
 * Running the CLI from tests: `cli()` calls main() in this process with captured output
 * (fast; for most cases), `spawnCli()` runs src/cli/main.ts in a child Node through tsx (no
 * build needed), for what only a real process shows: exit codes, stderr, stack traces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { main } from '../../src/cli/cli.js';
import { encodeIdx } from '../../src/io/idx-codec.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: {},
  });
  return { code, stdout, stderr };
}

export function startCli(argv: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...argv], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHAINRULE_DEBUG: '', ...env },
  });
}

export function spawnCli(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(argv, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function tempDir(label = 'cli'): string {
  return mkdtempSync(join(tmpdir(), `chainrule-${label}-`));
}

/** A Fashion-MNIST-shaped directory of four IDX files with n random images per split. */
export function fakeFashionDir(opts: { train?: number; trainLabels?: number; test?: number } = {}): string {
  const dir = tempDir('fashion');
  const train = opts.train ?? 40;
  const test = opts.test ?? 20;
  const images = (n: number) => encodeIdx({
    dtype: 'uint8', shape: [n, 28, 28], data: Uint8Array.from({ length: n * 784 }, (_, i) => (i * 7919) % 256),
  });
  const labels = (n: number) => encodeIdx({ dtype: 'uint8', shape: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(images(train)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(labels(opts.trainLabels ?? train)));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(images(test)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels(test)));
  return dir;
}

/** One line, no stack frames: what a user should see for any error. */
export function expectOneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${stderr}`);
  if (/\n\s+at /.test(stderr) || /\bat .*\.(ts|js):\d+/.test(stderr)) throw new Error(`stack trace on stderr:\n${stderr}`);
  return lines[0]!;
}
