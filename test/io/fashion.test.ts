import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, fashionSubsetDir, findFashionMnist, loadFashionMnist,
} from '../../src/data/fashion.js';
import { FormatError } from '../../src/io/errors.js';
import { encodeIdx } from '../../src/io/idx-codec.js';

function classCounts(labels: { data: ArrayLike<number> }): number[] {
  const counts = new Array(10).fill(0);
  for (let i = 0; i < labels.data.length; i++) counts[labels.data[i]!]++;
  return counts;
}

/** A tiny dataset directory: `n` blank images per split with labels 0,1,2,... */
function fakeDataset(trainImages: number, trainLabels: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'chainrule-fashion-'));
  const images = (n: number) => encodeIdx({ dtype: 'uint8', shape: [n, 28, 28], data: new Uint8Array(n * 784) });
  const labels = (n: number) => encodeIdx({ dtype: 'uint8', shape: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(images(trainImages)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labels(trainLabels)); // unpacked is fine too
  writeFileSync(join(dir, 't10k-images.idx3-ubyte'), images(3)); // the dotted mirror spelling
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels(3)));
  return dir;
}

describe('the Fashion-MNIST subset shipped with chainrule', () => {
  it('loads by default: 10,000 training and 2,000 test images, balanced, labels 0..9', async () => {
    const ds = await loadFashionMnist();
    expect(ds.dir).toBe(fashionSubsetDir());
    expect(ds.trainImages).toMatchObject({ dtype: 'uint8', shape: [10000, 28, 28] });
    expect(ds.trainLabels).toMatchObject({ dtype: 'uint8', shape: [10000] });
    expect(ds.testImages).toMatchObject({ dtype: 'uint8', shape: [2000, 28, 28] });
    expect(ds.testLabels).toMatchObject({ dtype: 'uint8', shape: [2000] });
    expect(classCounts(ds.trainLabels)).toEqual(new Array(10).fill(1000));
    expect(classCounts(ds.testLabels)).toEqual(new Array(10).fill(200));
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(ds.classNames[9]).toBe('Ankle boot');
    // Real images, not blanks: pixels span the full range.
    expect(Math.max(...ds.testImages.data.subarray(0, 784 * 10))).toBe(255);
  });

  it('ships its licence and provenance beside the data', () => {
    const dir = fashionSubsetDir();
    expect(existsSync(join(dir, 'LICENSE'))).toBe(true);
    expect(existsSync(join(dir, 'README.md'))).toBe(true);
  });
});

describe('finding and loading a full dataset directory', () => {
  it('accepts gzipped, unpacked and dotted file names', async () => {
    const dir = fakeDataset(5, 5);
    expect(findFashionMnist(dir)).toBe(dir);
    const ds = await loadFashionMnist({ dir });
    expect(ds.trainImages.shape).toEqual([5, 28, 28]);
    expect(ds.testLabels.shape).toEqual([3]);
  });

  it('says which paths it tried when files are missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-fashion-empty-'));
    let caught: unknown;
    try { findFashionMnist(dir); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(FormatError);
    const message = (caught as Error).message;
    expect(message).toContain('Fashion-MNIST files not found; tried:');
    expect(message).toContain(join(dir, 'train-images-idx3-ubyte.gz'));
    expect(message).toContain(join(dir, 't10k-labels-idx1-ubyte'));
  });

  it('rejects image and label counts that differ', async () => {
    const dir = fakeDataset(5, 4);
    await expect(loadFashionMnist({ dir })).rejects.toThrow(
      `${join(dir, 'train-images-idx3-ubyte.gz')}: has 5 images but ${join(dir, 'train-labels-idx1-ubyte')} has 4 labels`,
    );
  });

  it.skipIf(!existsSync(DEBIAN_FASHION_MNIST_DIR))('loads the full Debian-packaged set with subset: false', async () => {
    const ds = await loadFashionMnist({ subset: false });
    expect(ds.dir).toBe(DEBIAN_FASHION_MNIST_DIR);
    expect(ds.trainImages.shape).toEqual([60000, 28, 28]);
    expect(ds.testImages.shape).toEqual([10000, 28, 28]);
    expect(classCounts(ds.trainLabels)).toEqual(new Array(10).fill(6000));
  });
});
