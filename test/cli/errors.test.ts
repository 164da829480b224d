import { createHash } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIdx } from '../../src/io/idx-codec.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { cli, expectOneLine, fakeFashionDir, spawnCli, tempDir } from './helpers.js';

/** Runs the CLI and expects a user error: the exit code, and one line matching every pattern. */
async function expectError(argv: string[], code: number, ...patterns: RegExp[]): Promise<string> {
  const r = await cli(...argv);
  expect(r.code, r.stderr).toBe(code);
  const line = expectOneLine(r.stderr);
  for (const p of patterns) expect(line).toMatch(p);
  return line;
}

function csvFile(text: string): string {
  const path = join(tempDir('csv'), 'data.csv');
  writeFileSync(path, text);
  return path;
}

describe('command-line mistakes: one line naming the flag, exit code 2', () => {
  it.each([
    [['train', '--lr', 'abc'], /--lr: "abc" is not a number/],
    [['train', '--layers', '784,x'], /--layers: "784,x" must be comma-separated positive integers/],
    [['train', '--epochs', '0'], /--epochs: must be > 0/],
    [['train', '--batch-size', '1.5'], /--batch-size: "1.5" is not an integer/],
    [['train', '--optimizer', 'adamax'], /--optimizer: "adamax" is not one of sgd, adam, adamw, rmsprop, adagrad/],
    [['train', '--scheduler', 'warm'], /--scheduler: "warm" is not one of none, step/],
    [['train', '--test-split', '1.5'], /--test-split: must be < 1/],
    [['train', '--lr'], /--lr needs a value/],
    [['train', '--lrr', '0.1'], /unknown flag --lrr .*did you mean --lr\?/],
    [['train', '--quiet=yes'], /--quiet is a switch/],
    [['train', '--csv', 'a.csv', '--data', 'dir'], /--data and --csv both choose the data/],
    [['train', '--momentum', '0.9'], /--momentum applies to sgd and rmsprop, not adam/],
    [['train', '--label-column', 'y'], /--label-column applies to --csv data only/],
    [['train', '--resume', 'dir', '--lr', '0.1'], /--lr cannot change them/],
    [['eval'], /eval needs the checkpoint directory/],
    [['predict', 'dir'], /predict needs --input FILE/],
    [['trian'], /unknown command "trian"/],
    // issue 18: `train runs/a` (--out forgotten) trained and saved nothing with exit 0
    [['train', 'runs/a'], /train takes no positional arguments, got runs\/a; to save the run in runs\/a, use --out runs\/a/],
    // issue 18: `gradflow --batch 100000000` hung filling memory
    [['gradflow', '--batch', '100000000'], /--batch 100000000 is more than this experiment uses \(at most 100,000 examples\)/],
  ])('%j', async (argv, pattern) => {
    await expectError(argv, 2, pattern);
  });

  it('in a real process: exit code 2, one line on stderr, no stack trace', async () => {
    const r = await spawnCli(['train', '--lr', 'abc']);
    expect(r.code).toBe(2);
    expect(expectOneLine(r.stderr)).toBe('chainrule train: --lr: "abc" is not a number');
    expect(r.stdout).toBe('');
  });

  it('--help works for the top level and every command', async () => {
    for (const argv of [['--help'], ['train', '--help'], ['eval', '-h'], ['predict', '--help'], ['help', 'train']]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: chainrule/);
    }
    expect((await cli('train', '--help')).stdout).toMatch(/--batch-size N\s+samples per update \[default: 64\]/);
    // help wins, before any flag is checked
    const r = await cli('train', '--lr', '-1e-3', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: chainrule train/);
  });
});

describe('malformed input: a clear one-line message, exit code 1, no stack trace', () => {
  it('a missing file', async () => {
    await expectError(['train', '--csv', '/nonexistent/data.csv'], 1, /\/nonexistent\/data\.csv: file not found/);
    const r = await spawnCli(['train', '--csv', '/nonexistent/data.csv']);
    expect(r.code).toBe(1);
    expect(expectOneLine(r.stderr)).toBe('chainrule train: /nonexistent/data.csv: file not found');
  });

  it('a missing dataset directory, or one without the files (the paths tried, on one line)', async () => {
    await expectError(['train', '--data', '/nonexistent'], 1, /\/nonexistent: no such directory/);
    await expectError(['train', '--data', tempDir('empty')], 1, /Fashion-MNIST files not found; tried: \/.*\/train-images-idx3-ubyte\.gz, /);
  });

  it('an IDX file with a wrong magic number', async () => {
    const dir = fakeFashionDir();
    const bad = encodeIdx({ dtype: 'uint8', shape: [40, 28, 28], data: new Uint8Array(40 * 784) });
    bad[0] = 0x08;
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(bad));
    await expectError(['train', '--data', dir], 1, /train-images-idx3-ubyte\.gz: wrong magic number 0x08 0x00 0x08 0x03/);
  });

  it('a truncated IDX file', async () => {
    const dir = fakeFashionDir();
    const labels = encodeIdx({ dtype: 'uint8', shape: [40], data: new Uint8Array(40) });
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(labels.subarray(0, 30)));
    await expectError(['train', '--data', dir], 1, /train-labels-idx1-ubyte\.gz: truncated: expected 48 bytes for u8 \[40\], got 30/);
  });

  it('image and label counts that differ', async () => {
    const dir = fakeFashionDir({ train: 40, trainLabels: 39 });
    await expectError(['train', '--data', dir], 1, /has 40 images but .*train-labels-idx1-ubyte\.gz has 39 labels/);
  });

  it('an empty IDX dataset', async () => {
    const dir = fakeFashionDir({ train: 0 });
    await expectError(['train', '--data', dir], 1, /the dataset is empty: the IDX files hold 0 images/);
  });

  it('a CSV with a non-numeric cell names its row and column', async () => {
    const path = csvFile('a,b,label\n1,2,0\n3,x3,1\n');
    await expectError(['train', '--csv', path], 1, /data\.csv: row 3, column 2 "b": "x3" is not a number/);
  });

  it('a CSV with ragged rows', async () => {
    const path = csvFile('a,b,label\n1,2,0\n3,1\n');
    await expectError(['train', '--csv', path], 1, /data\.csv: row 3: expected 3 cells \(as in row 1\), got 2/);
  });

  it('an empty CSV dataset', async () => {
    await expectError(['train', '--csv', csvFile('a,b,label\n')], 1, /no data rows/);
    await expectError(['train', '--csv', csvFile('')], 1, /empty file/);
  });

  it('a CSV whose labels are not classes', async () => {
    await expectError(['train', '--csv', csvFile('a,y\n1,0.5\n2,1.5\n')], 1, /non-integer numbers; classification needs class indices/);
  });

  it('--layers that do not fit the data', async () => {
    await expectError(['train', '--csv', csvFile('a,b,y\n1,2,0\n2,1,1\n'), '--layers', '3,4,2'], 1,
      /the model takes 3 input features but .* has 2 per sample \(the first of --layers must be 2\)/);
  });

  it('a checkpoint whose shapes do not fit its model names the parameter', async () => {
    const dir = tempDir('ckpt');
    expect((await cli('train', '--limit', '100', '--epochs', '1', '--out', dir, '--quiet')).code).toBe(0);
    const ckpt = await loadCheckpoint(dir);
    const wrong = { ...ckpt.model, 'layers.2.weight': { dtype: 'float32' as const, shape: [10, 64], data: new Float32Array(640) } };
    await saveCheckpoint(dir, { model: wrong, config: ckpt.config });
    await expectError(['eval', dir], 1,
      /model\.safetensors: does not fit the model in config\.json: .*shape mismatch for "layers\.2\.weight": the state dict has shape \[10,64\], the model \[10,128\]/);
  });

  it('a truncated or edited safetensors file in a checkpoint', async () => {
    const dir = tempDir('ckpt');
    expect((await cli('train', '--limit', '100', '--epochs', '1', '--out', dir, '--quiet')).code).toBe(0);
    const file = join(dir, 'model.safetensors');
    const size = readFileSync(file).length;
    truncateSync(file, size - 100);
    await expectError(['eval', dir], 1, new RegExp(`model\\.safetensors: ${size - 100} bytes, but checkpoint\\.json records ${size}: the file is truncated`));
    await expectError(['predict', dir, '--input', '/dev/null'], 1, /truncated/);
    // The same bytes with a manifest that agrees: the safetensors reader itself names the problem.
    const ckpt = { model: { w: { dtype: 'float32' as const, shape: [4], data: new Float32Array(4) } }, config: {} };
    await saveCheckpoint(dir, ckpt);
    const manifest = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
    const torn = readFileSync(file).subarray(0, 20);
    writeFileSync(file, torn);
    manifest.files['model.safetensors'] = { bytes: torn.length, sha256: createHash('sha256').update(torn).digest('hex') };
    writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(manifest));
    await expectError(['eval', dir], 1, /model\.safetensors: header length \d+ runs past the end of the file .* truncated/);
  });

  it('an --out that is a file, refused before any training', async () => {
    const file = join(tempDir('out'), 'file');
    writeFileSync(file, 'x');
    await expectError(['train', '--out', file, '--limit', '100', '--epochs', '1'], 1, /file: is a file; a checkpoint is written into a directory/);
  });

  it('a directory that is not a checkpoint', async () => {
    await expectError(['eval', tempDir('empty')], 1, /not a checkpoint: checkpoint\.json is missing/);
    await expectError(['eval', '/nonexistent'], 1, /\/nonexistent: checkpoint directory not found/);
  });

  it('predict: an input with the wrong number of features', async () => {
    const dir = tempDir('ckpt');
    expect((await cli('train', '--limit', '100', '--epochs', '1', '--out', dir, '--quiet')).code).toBe(0);
    const input = join(tempDir('json'), 'x.json');
    writeFileSync(input, '[[1, 2, 3]]');
    await expectError(['predict', dir, '--input', input], 1, /x\.json: sample 0 has 3 values, but the model takes 784/);
  });
});
