import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChainruleError, loadFromBytes, saveToBytes, tensor } from '../../src/index.js';
import { parseCsv } from '../../src/io/csv.js';
import { decodeIdx, encodeIdx } from '../../src/io/idx-codec.js';
import { decodeJson, loadCheckpoint } from '../../src/io/checkpoint.js';
import { validateRunConfig } from '../../src/train/config-schema.js';
import { cli, tempDir } from '../cli/helpers.js';
import { fuzz } from './helpers.js';

/**
 * Random corruptions of valid inputs to each file reader: bit flips, truncations, inserted
 * bytes, and header lengths or dims set to huge values. Every outcome must be a clean load or a
 * chainrule error (FormatError and kin), within a bounded time, and nothing it returns may hold
 * more elements than the input has bytes (a header cannot make the reader allocate past the file).
 */

type Corruption =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'set'; at: number; bytes: number[] };

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  // 0xFF runs and other values written over the header: huge lengths and dims
  fc.record({ kind: fc.constant('set' as const), at: fc.nat({ max: 16 }), bytes: fc.array(fc.constantFrom(0xff, 0x7f, 0x80, 0x00, 0x01), { minLength: 1, maxLength: 8 }) }),
);

function corrupt(src: Uint8Array, cs: readonly Corruption[]): Uint8Array {
  let b = Uint8Array.from(src);
  for (const c of cs) {
    const at = b.length === 0 ? 0 : c.at % (b.length + (c.kind === 'insert' ? 1 : 0));
    if (c.kind === 'flip' && b.length > 0) b[at] = b[at]! ^ (1 << c.bit);
    else if (c.kind === 'truncate') b = b.slice(0, at);
    else if (c.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...c.bytes, ...b.subarray(at)]);
    else if (c.kind === 'set') for (let i = 0; i < c.bytes.length && at + i < b.length; i++) b[at + i] = c.bytes[i]!;
  }
  return b;
}

const corruptions = fc.array(corruption, { minLength: 1, maxLength: 3 });

/** Elements of every typed array reachable in `value` (tensors, raw tensors, CSV data). */
function elementsIn(value: unknown, seen = new Set<unknown>()): number {
  if (value === null || typeof value !== 'object' || seen.has(value)) return 0;
  seen.add(value);
  if (ArrayBuffer.isView(value)) return (value as unknown as ArrayLike<number>).length;
  if (typeof (value as { dataSync?: unknown }).dataSync === 'function') return (value as { numel(): number }).numel();
  let n = 0;
  for (const v of Array.isArray(value) ? value : Object.values(value)) n += elementsIn(v, seen);
  return n;
}

const TIME_LIMIT_MS = 2000;

/** Runs the reader on bytes: a clean load (no more elements than bytes) or a chainrule error, in bounded time. */
async function outcome(read: (b: Uint8Array) => unknown, bytes: Uint8Array): Promise<'loaded' | 'refused'> {
  const t0 = performance.now();
  let result: unknown;
  try {
    result = await read(bytes);
  } catch (err) {
    if (!(err instanceof ChainruleError)) {
      throw new Error(`not a chainrule error for ${bytes.length} corrupted bytes: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    expect(performance.now() - t0).toBeLessThan(TIME_LIMIT_MS);
    return 'refused';
  }
  expect(performance.now() - t0).toBeLessThan(TIME_LIMIT_MS);
  const n = elementsIn(result);
  if (n > bytes.length) throw new Error(`loaded ${n} elements from ${bytes.length} bytes`);
  return 'loaded';
}

async function fuzzReader(valid: Uint8Array, read: (b: Uint8Array) => unknown, scale = 1): Promise<Record<string, number>> {
  expect(await outcome(read, valid)).toBe('loaded');
  const tally: Record<string, number> = { loaded: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(corruptions, async (cs) => {
      tally[await outcome(read, corrupt(valid, cs))]!++;
    }),
    fuzz(5 * scale),
  );
  return tally;
}

describe('fuzz: file readers', () => {
  it('IDX (u8 images, i32 labels, f32 and f64 values)', async () => {
    const files = [
      encodeIdx({ dtype: 'uint8', shape: [3, 4, 5], data: Uint8Array.from({ length: 60 }, (_, i) => i * 3) }),
      encodeIdx({ dtype: 'int32', shape: [7], data: Int32Array.from([0, 1, 2, 3, 4, 5, -6]) }),
      encodeIdx({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([0.5, -1, 2, 3e7, 1e-9, 4]) }),
      encodeIdx({ dtype: 'float64', shape: [2, 2], data: Float64Array.from([1, 2, 3, 4]) }),
    ];
    for (const f of files) {
      const tally = await fuzzReader(f, (b) => decodeIdx(b, 'fuzz.idx'));
      expect(tally.refused).toBeGreaterThan(0);
    }
  });

  it('IDX headers declaring huge dims are refused before any allocation', async () => {
    const header = (dims: number[]) => {
      const b = new Uint8Array(4 + 4 * dims.length + 16);
      b.set([0, 0, 0x0d, dims.length]);
      const v = new DataView(b.buffer);
      dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
      return b;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 6 }), async (dims) => {
        expect(await outcome((b) => decodeIdx(b, 'huge.idx'), header(dims))).toBe(dims.reduce((a, d) => a * d, 1) * 4 === 16 ? 'loaded' : 'refused');
      }),
      fuzz(2),
    );
  });

  it('CSV (header, numbers, a label column)', async () => {
    const text = 'sepal,petal,width,species\n5.1,3.5,1.4,setosa\n4.9,3.0,1.4,setosa\n6.2,2.9,4.3,versicolor\n5.9,3.0,5.1,virginica\n6.0,2.2,4.0,versicolor\n';
    const bytes = new TextEncoder().encode(text);
    const read = (b: Uint8Array) => parseCsv(new TextDecoder().decode(b), { labelColumn: 'species', source: 'fuzz.csv' });
    const tally = await fuzzReader(bytes, read);
    expect(tally.refused).toBeGreaterThan(0);
    const noLabel = (b: Uint8Array) => parseCsv(new TextDecoder().decode(b), { source: 'fuzz.csv' });
    await fuzzReader(new TextEncoder().encode('1,2.5,-3\n4e2,5,6\n0.25,-0.5,7\n'), noLabel, 0.5);
  });

  it('safetensors (several dtypes, metadata)', async () => {
    const bytes = saveToBytes(
      {
        w: tensor([[1, 2, 3], [4, 5, 6]]),
        b: tensor([0.5, -0.5], { dtype: 'float64' }),
        ids: tensor([1, 2, 3, 4], { dtype: 'int32' }),
        mask: tensor([true, false, true], { dtype: 'bool' }),
      },
      { note: 'fuzz' },
    );
    const tally = await fuzzReader(bytes, (b) => loadFromBytes(b, 'fuzz.safetensors'), 2);
    expect(tally.refused).toBeGreaterThan(0);
  });

  describe('a training checkpoint', () => {
    let dir = '';
    beforeAll(async () => {
      const root = tempDir('fuzz-ckpt');
      const csv = join(root, 'data.csv');
      writeFileSync(csv, ['a,b,y', ...Array.from({ length: 20 }, (_, i) => `${i % 3},${(i * 7) % 5},${i % 2}`)].join('\n'));
      dir = join(root, 'run');
      const r = await cli('train', '--csv', csv, '--label-column', 'y', '--layers', '2,4,2', '--epochs', '1', '--quiet', '--out', dir);
      expect(r.code).toBe(0);
    });

    it('checkpoint.json corrupted: loadCheckpoint loads or refuses', async () => {
      const manifest = readFileSync(join(dir, 'checkpoint.json'));
      const work = tempDir('fuzz-ckpt-copy');
      for (const f of ['config.json', 'model.safetensors', 'optimizer.json', 'optimizer.safetensors', 'rng.json', 'metrics.json', 'metrics.csv']) {
        try {
          copyFileSync(join(dir, f), join(work, f));
        } catch {
          // not every checkpoint has every file
        }
      }
      mkdirSync(work, { recursive: true });
      const tally = await fuzzReader(manifest, async (b) => {
        writeFileSync(join(work, 'checkpoint.json'), b);
        return loadCheckpoint(work);
      }, 0.5);
      expect(tally.refused).toBeGreaterThan(0);
    });

    it('config.json corrupted: the run config is decoded and validated, or refused naming the file', async () => {
      const config = readFileSync(join(dir, 'config.json'));
      const tally = await fuzzReader(config, (b) => {
        const json = decodeJson(new TextDecoder().decode(b), 'config.json');
        return validateRunConfig(json, 'config.json');
      }, 2);
      expect(tally.refused).toBeGreaterThan(0);
    });

    it('model.safetensors corrupted', async () => {
      await fuzzReader(readFileSync(join(dir, 'model.safetensors')), (b) => loadFromBytes(b, 'model.safetensors'));
    });
  });
});
