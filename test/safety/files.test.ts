/**
 * Issue 18 point 5, "no lost files": a diverged run never reports success or saves as if fine;
 * checkpoint and commit manifests name only regular files inside their directory; --out never
 * replaces what is not this run's; one writer per directory; a full disk, a read-only file
 * system and a closed standard output are one line saying what is intact, with the exit codes
 * the README lists.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/data/dataloader.js';
import { TensorDataset } from '../../src/data/dataset.js';
import { fashionSubsetDir } from '../../src/data/fashion.js';
import { EXIT_BUSY, EXIT_DIVERGED, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, EXIT_WRITE } from '../../src/cli/errors.js';
import { loadCheckpoint, MANIFEST, saveCheckpoint } from '../../src/io/checkpoint.js';
import { BusyError, FormatError, WriteError } from '../../src/io/errors.js';
import { injectFsFault } from '../../src/io/fs-faults.js';
import { LOCK_FILE, lockDir } from '../../src/io/lock.js';
import { crossEntropy } from '../../src/nn/functional.js';
import { SGD } from '../../src/optim/index.js';
import { manualSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { fit, NonFiniteLossError } from '../../src/train/loop.js';
import { buildModel } from '../../src/train/model.js';
import { cli, expectOneLine, MAIN, REPO_ROOT, spawnCli, startCli, tempDir } from '../cli/helpers.js';

const RUN = ['--limit', '200', '--layers', '784,16,10', '--batch-size', '50'];
const f32 = (...v: number[]) => ({ dtype: 'float32' as const, shape: [v.length], data: Float32Array.from(v) });
const tiny = (epoch: number) => ({ model: { w: f32(epoch, 2) }, config: { epoch } });

afterEach(() => { injectFsFault(null); });

describe('a loss that becomes NaN or Inf', () => {
  function setup() {
    manualSeed(0);
    const model = buildModel({ kind: 'mlp', layers: [2, 4, 2], activation: 'relu', dropout: 0 });
    const x = new Tensor(Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)), [8, 2], 'float32');
    const y = new Tensor(Int32Array.from([0, 1, 0, 1, 1, 0, 1, 0]), [8], 'int32');
    const trainLoader = new DataLoader(new TensorDataset(x, y), { batchSize: 2, shuffle: false });
    return { model, optimizer: new SGD(model.parameters(), { lr: 0.1 }), trainLoader };
  }
  /** Cross-entropy, but NaN on the `bad`-th call (epoch 2, batch 2 for bad = 6). */
  const lossNanAt = (bad: number) => {
    let calls = 0;
    return (logits: Tensor, labels: Tensor) => (++calls === bad ? crossEntropy(logits, labels).mul(NaN) : crossEntropy(logits, labels));
  };

  it('fit stops with NonFiniteLossError before that update and never reports the epoch', async () => {
    const s = setup();
    const reported: number[] = [];
    let lastWeights: number[] = [];
    const err = await fit({
      ...s, epochs: 3, lossFn: lossNanAt(6),
      onBatch: () => { lastWeights = Array.from(s.model.parameters()[0]!.dataSync()); },
      onEpochEnd: (m) => { reported.push(m.epoch); },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).message).toMatch(/^fit: the training loss is NaN at epoch 2, batch 2; training stopped there .*allowNan/);
    expect(reported).toEqual([1]);
    // The weights are those of the last finite update (batch 1 of epoch 2), not stepped with a NaN gradient.
    expect(Array.from(s.model.parameters()[0]!.dataSync())).toEqual(lastWeights);
    expect(lastWeights.every(Number.isFinite)).toBe(true);
  });

  it('fit with allowNan keeps going and reports the NaN epochs', async () => {
    const s = setup();
    const history = await fit({ ...s, epochs: 3, lossFn: lossNanAt(6), allowNan: true });
    expect(history.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(history[1]!.trainLoss).toBeNaN();
  });

  it('weights made infinite by the last update of an epoch are caught without a test set', async () => {
    const s = setup();
    const optimizer = new SGD(s.model.parameters(), { lr: 1e38 });
    const err = await fit({ ...s, optimizer, epochs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
  });

  it('chainrule train stops with one line and exit 3, saves nothing of the diverged epoch, and --allow-nan goes on', async () => {
    const dir = tempDir('diverge');
    const args = ['train', ...RUN, '--optimizer', 'sgd', '--lr', '1e30', '--epochs', '2', '--out', dir];
    const r = await cli(...args);
    expect(r.code).toBe(EXIT_DIVERGED);
    expect(expectOneLine(r.stderr)).toMatch(new RegExp(`^chainrule train: the (training|test) loss became (NaN|-?Infinity) at epoch 1.*; training stopped and epoch 1 was not saved; nothing was saved to ${dir}\\. Lower --lr.*--allow-nan`));
    expect(r.stdout).not.toMatch(/done:/);
    expect(existsSync(join(dir, MANIFEST))).toBe(false);
    expect(readdirSync(dir)).toEqual([]); // no lock, no staging left

    const kept = await cli(...args, '--allow-nan');
    expect(kept.code, kept.stderr).toBe(EXIT_OK);
    expect(kept.stdout).toMatch(/^note: the loss was NaN or infinite in epochs 1, 2 \(kept going: --allow-nan\)$/m);
  });
});

describe('checkpoint manifests name only regular files inside their directory', () => {
  async function saved(): Promise<string> {
    const dir = tempDir('manifest');
    await saveCheckpoint(dir, tiny(1));
    return dir;
  }
  const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as { files: Record<string, unknown> };
  function rename(dir: string, from: string, to: string): void {
    const m = manifestOf(dir);
    m.files[to] = m.files[from];
    delete m.files[from];
    writeFileSync(join(dir, MANIFEST), JSON.stringify({ ...m, format: 'chainrule-checkpoint', version: 1 }));
  }

  it('refuses "..", absolute, hidden and nested names before reading anything (issue example)', async () => {
    for (const name of ['../../etc/hostname', '/etc/hostname', '.hidden', 'sub/model.safetensors', '..', '']) {
      const dir = await saved();
      rename(dir, 'config.json', name);
      await expect(loadCheckpoint(dir), name).rejects.toThrow(/names .*, which is not a file inside the checkpoint directory/);
    }
  });

  it('refuses malformed entries, naming the field', async () => {
    const dir = await saved();
    const m = manifestOf(dir);
    (m.files['config.json'] as { bytes: unknown }).bytes = -1;
    writeFileSync(join(dir, MANIFEST), JSON.stringify(m));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/files\.config\.json\.bytes must be a non-negative integer/);
  });

  it('a listed file that is a symlink out, /dev/zero, a FIFO or a directory is refused without being read (issue example: no hang)', async () => {
    const outside = join(tempDir('outside'), 'secret.json');
    writeFileSync(outside, '{"epoch": 9}');
    const cases: [string, (p: string) => void, RegExp][] = [
      ['symlink out', (p) => symlinkSync(outside, p), /leads to .*secret\.json, outside the checkpoint directory/],
      ['/dev/zero', (p) => symlinkSync('/dev/zero', p), /leads to \/dev\/zero, outside the checkpoint directory/],
      ['FIFO', (p) => execFileSync('mkfifo', [p]), /is a FIFO \(named pipe\), not a regular file/],
      ['directory', (p) => mkdirSync(p), /is a directory, not a regular file/],
    ];
    for (const [what, make, message] of cases) {
      const dir = await saved();
      unlinkSync(join(dir, 'config.json'));
      make(join(dir, 'config.json'));
      const t0 = performance.now();
      await expect(loadCheckpoint(dir), what).rejects.toThrow(message);
      expect(performance.now() - t0, what).toBeLessThan(2000);
    }
    // The manifest itself as a FIFO or /dev/zero: refused, not read.
    for (const make of [(p: string) => execFileSync('mkfifo', [p]), (p: string) => symlinkSync('/dev/zero', p)]) {
      const dir = await saved();
      unlinkSync(join(dir, MANIFEST));
      make(join(dir, MANIFEST));
      await expect(loadCheckpoint(dir)).rejects.toThrow(FormatError);
    }
  });

  it('a symlink to a file inside the directory is fine', async () => {
    const dir = await saved();
    writeFileSync(join(dir, 'real-config'), readFileSync(join(dir, 'config.json')));
    unlinkSync(join(dir, 'config.json'));
    symlinkSync('real-config', join(dir, 'config.json'));
    expect((await loadCheckpoint(dir)).config).toEqual({ epoch: 1 });
  });

  it('a leftover commit manifest naming ../x is refused before any rename: nothing outside is moved or replaced (issue example)', async () => {
    const parent = tempDir('commit');
    const dir = join(parent, 'ckpt');
    await saveCheckpoint(dir, tiny(1));
    writeFileSync(join(parent, 'x'), 'the user\'s file');
    mkdirSync(join(dir, '.commit'));
    writeFileSync(join(dir, 'x'), 'planted');
    writeFileSync(join(dir, '.commit', MANIFEST), JSON.stringify({
      format: 'chainrule-checkpoint', version: 1, files: { '../x': { bytes: 7, sha256: '0'.repeat(64) } },
    }));
    await expect(saveCheckpoint(dir, tiny(2))).rejects.toThrow(/\.commit\/checkpoint\.json: names "\.\.\/x", which is not a file inside the checkpoint directory/);
    expect(readFileSync(join(parent, 'x'), 'utf8')).toBe('the user\'s file');
    expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('planted');
    // A .commit holding a non-regular file under a valid name is refused too, before any rename.
    writeFileSync(join(dir, '.commit', MANIFEST), JSON.stringify({
      format: 'chainrule-checkpoint', version: 1, files: { 'config.json': { bytes: 7, sha256: '0'.repeat(64) } },
    }));
    symlinkSync(join(parent, 'x'), join(dir, '.commit', 'config.json'));
    await expect(saveCheckpoint(dir, tiny(2))).rejects.toThrow(/is a symbolic link, not a file a save wrote; refusing to install it/);
    expect((await loadCheckpoint(dir).catch((e: Error) => e)) instanceof FormatError).toBe(true);
    expect(readFileSync(join(parent, 'x'), 'utf8')).toBe('the user\'s file');
  });
});

describe('train --out never replaces what is not this run\'s', () => {
  it('a directory of the user\'s own files is refused, naming them, and left as it was; --overwrite writes there', async () => {
    const dir = tempDir('own');
    writeFileSync(join(dir, 'config.json'), '{"mine": true}');
    writeFileSync(join(dir, 'metrics.csv'), 'a,b\n');
    const r = await cli('train', ...RUN, '--epochs', '1', '--quiet', '--out', dir);
    expect(r.code).toBe(EXIT_FAILURE);
    expect(expectOneLine(r.stderr)).toBe(`chainrule train: --out ${dir} is not empty and holds no chainrule checkpoint (config.json, metrics.csv); its files would be replaced: pass --overwrite to write there anyway, or choose another --out`);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe('{"mine": true}');
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'metrics.csv']);
    const o = await cli('train', ...RUN, '--epochs', '1', '--quiet', '--out', dir, '--overwrite');
    expect(o.code, o.stderr).toBe(0);
    expect((await loadCheckpoint(dir)).config).toMatchObject({ epoch: 1 });
  });

  it('another run\'s checkpoint is refused, the same run\'s is written again, and --resume DIR goes on', async () => {
    const dir = tempDir('runs');
    expect((await cli('train', ...RUN, '--epochs', '1', '--quiet', '--out', dir)).code).toBe(0);
    const before = readFileSync(join(dir, 'model.safetensors'));
    const other = await cli('train', ...RUN, '--epochs', '1', '--quiet', '--lr', '0.01', '--out', dir);
    expect(other.code).toBe(EXIT_FAILURE);
    expect(expectOneLine(other.stderr)).toMatch(new RegExp(`^chainrule train: --out ${dir} holds the checkpoint of another run \\(mlp 784-16-10 relu on Fashion-MNIST, adam lr 0.001, epoch 1 of 1; this run: .*lr 0.01.*\\); pass --overwrite .*, or --resume ${dir} to continue that run$`));
    expect(readFileSync(join(dir, 'model.safetensors'))).toEqual(before);
    expect((await cli('train', ...RUN, '--epochs', '2', '--quiet', '--out', dir)).code).toBe(0); // same run
    expect((await cli('train', '--resume', dir, '--epochs', '3', '--quiet')).code).toBe(0);
    // A checkpoint that cannot be read is not taken for this run's either.
    writeFileSync(join(dir, 'config.json'), '{}');
    const bad = await cli('train', ...RUN, '--epochs', '1', '--quiet', '--out', dir);
    expect(expectOneLine(bad.stderr)).toMatch(/holds a checkpoint that cannot be read \(.*config\.json: 2 bytes, but checkpoint\.json records \d+: the file is truncated or was replaced\); pass --overwrite/);
  });
});

describe('one writer per directory', () => {
  it('a second lock in this process, or a lock of a running process, fails at once with BusyError', async () => {
    const dir = tempDir('lock');
    const lock = await lockDir(dir, 'first');
    await expect(lockDir(dir)).rejects.toThrow(BusyError);
    await expect(lockDir(dir)).rejects.toThrow(/already being written by this process/);
    await lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    // pid 1 is always running.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: (await import('node:os')).hostname(), started: 'x', command: 'chainrule train', token: 't' }));
    await expect(lockDir(dir)).rejects.toThrow(new RegExp(`is being written by chainrule process 1 on this machine .*delete ${join(dir, LOCK_FILE).replace(/[.]/g, '\\.')}`));
    await expect(saveCheckpoint(dir, tiny(1))).rejects.toThrow(BusyError);
    // Another host's lock cannot be checked: respected, with how to clear it.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', started: 'x', command: '', token: 't' }));
    await expect(lockDir(dir)).rejects.toThrow(/on host elsewhere .*if that run has ended, delete/);
  });

  it('a stale lock of a dead process is taken over', async () => {
    const dir = tempDir('stale');
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: (await import('node:os')).hostname(), started: 'x', command: '', token: 't' }));
    await saveCheckpoint(dir, tiny(1));
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('two trainings into the same --out: the second fails at once, naming the first (issue example)', async () => {
    const dir = tempDir('two');
    const first = startCli(['train', ...RUN, '--epochs', '2', '--out', dir], { CHAINRULE_TEST_CHECKPOINT_PAUSE: 'staged@1' });
    try {
      await new Promise<void>((resolve, reject) => {
        let err = '';
        first.stderr!.on('data', (c: Buffer) => { err += c.toString(); if (err.includes('checkpoint-pause')) resolve(); });
        first.on('exit', () => reject(new Error(`first run ended early: ${err}`)));
      });
      const t0 = performance.now();
      const second = await cli('train', ...RUN, '--epochs', '2', '--quiet', '--out', dir);
      expect(second.code).toBe(EXIT_BUSY);
      expect(expectOneLine(second.stderr)).toMatch(new RegExp(`^chainrule train: ${dir} is being written by chainrule process ${first.pid} on this machine \\(since .*: chainrule train .*--out ${dir}\\); two writers would overwrite`));
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      first.kill('SIGKILL');
    }
  });
});

describe('disk full, read-only, permission denied: one line saying what is intact', () => {
  it('a full disk during the second save leaves the first checkpoint, and says so (issue example)', async () => {
    const dir = tempDir('enospc');
    let saves = 0;
    injectFsFault((op, path) => {
      if (op === 'mkdir' && path.includes('.staging-')) saves++;
      return saves === 2 && op === 'write' && path.endsWith('optimizer.safetensors') ? 'ENOSPC' : undefined;
    });
    const r = await cli('train', ...RUN, '--epochs', '3', '--quiet', '--out', dir);
    expect(r.code).toBe(EXIT_WRITE);
    expect(expectOneLine(r.stderr)).toBe(`chainrule train: disk full while saving the checkpoint to ${dir}; the previous checkpoint is intact`);
    injectFsFault(null);
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.config).toMatchObject({ epoch: 1 });
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]); // staging removed, lock released
  });

  it('read-only before the first checkpoint, and after a commit', async () => {
    const dir = tempDir('erofs');
    injectFsFault((op, path) => (op === 'mkdir' && path.includes('.staging-') ? 'EROFS' : undefined));
    await expect(saveCheckpoint(dir, tiny(1))).rejects.toThrow(`read-only file system while saving the checkpoint to ${dir}; no checkpoint was there before, and nothing partial was left`);
    expect(readdirSync(dir)).toEqual([]);
    injectFsFault(null);
    await saveCheckpoint(dir, tiny(1));
    injectFsFault((op, path) => (op === 'rename' && path === join(dir, 'config.json') ? 'EROFS' : undefined));
    const err = await saveCheckpoint(dir, tiny(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteError);
    expect((err as WriteError).message).toBe(`read-only file system while saving the checkpoint to ${dir}; the new checkpoint was committed and loads; the next save moves its last files into place`);
    injectFsFault(null);
    expect((await loadCheckpoint(dir)).config).toEqual({ epoch: 2 });
  });

  it('permission denied creating --out is one line with exit 4, before any training', async () => {
    const parent = tempDir('eacces');
    injectFsFault((op) => (op === 'mkdir' ? 'EACCES' : undefined));
    const r = await cli('train', ...RUN, '--epochs', '1', '--quiet', '--out', join(parent, 'new'));
    expect(r.code).toBe(EXIT_WRITE);
    expect(expectOneLine(r.stderr)).toBe(`chainrule train: permission denied on ${join(parent, 'new')} while creating the directory ${join(parent, 'new')}; nothing was written`);
  });

  it('in a real process: no stack trace, exit 4 (CHAINRULE_TEST_FS_FAULT)', async () => {
    const dir = tempDir('child');
    const r = await spawnCli(['train', ...RUN, '--epochs', '1', '--quiet', '--out', dir], { CHAINRULE_TEST_FS_FAULT: 'ENOSPC:write:model.safetensors' });
    expect(r.code).toBe(EXIT_WRITE);
    expect(expectOneLine(r.stderr)).toBe(`chainrule train: disk full while saving the checkpoint to ${dir}; no checkpoint was there before, and nothing partial was left`);
  });
});

describe('a closed or full standard output', () => {
  let ckptDir: string | null = null;
  async function checkpoint(): Promise<string> {
    if (ckptDir === null) {
      ckptDir = tempDir('pipe-ckpt');
      expect((await cli('train', ...RUN, '--epochs', '1', '--quiet', '--out', ckptDir)).code).toBe(0);
    }
    return ckptDir;
  }
  const images = () => join(fashionSubsetDir(), 't10k-images-idx3-ubyte.gz');

  /** Runs the CLI with its stdout a real pipe that the reader closes after the first chunk. */
  function closedEarly(argv: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = startCli(argv);
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout!.once('data', () => child.stdout!.destroy());
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    });
  }

  it('predict | head -1: one line, exit 4, no stack trace', async () => {
    const r = await closedEarly(['predict', await checkpoint(), '--input', images()]);
    expect(r.code).toBe(EXIT_WRITE);
    expect(expectOneLine(r.stderr)).toBe('chainrule predict: standard output was closed before all output was written (broken pipe)');
  });

  it('train | head -1: stops, saying what the checkpoint holds', async () => {
    const dir = tempDir('pipe-train');
    const r = await closedEarly(['train', ...RUN, '--epochs', '3', '--out', dir]);
    expect(r.code).toBe(EXIT_WRITE);
    expect(expectOneLine(r.stderr)).toMatch(new RegExp(`^chainrule train: standard output was closed before all output was written \\(broken pipe\\); training stopped; (nothing was saved to ${dir}|the checkpoint in ${dir} \\(epoch [12]\\) is intact)$`));
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('stdout on a full disk (/dev/full): one line, exit 4 (issue example)', async () => {
    const dir = await checkpoint();
    const full = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'predict', dir, '--input', images()], {
        cwd: REPO_ROOT, stdio: ['ignore', full, 'pipe'], env: { ...process.env, CHAINRULE_DEBUG: '' },
      });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
      expect(code).toBe(EXIT_WRITE);
      expect(expectOneLine(stderr)).toBe('chainrule predict: disk full while writing standard output');
    } finally {
      closeSync(full);
    }
  });
});

describe('exit codes', () => {
  it('are the ones the README documents', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('**Exit codes**'));
    const rows = [...table.matchAll(/^\| `(\d)` \|/gm)].map((m) => Number(m[1]));
    expect(rows).toEqual([EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_DIVERGED, EXIT_WRITE, EXIT_BUSY]);
    expect([EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_DIVERGED, EXIT_WRITE, EXIT_BUSY]).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
