/**
 * Fashion-MNIST (Node only): 28×28 grayscale images of clothing in 10 classes.
 *
 * chainrule ships a 10,000 / 2,000 image class-balanced subset in data/fashion-mnist-subset
 * (see its README for how it was cut), so training on real images works with no download.
 * The full 60,000 / 10,000 set is found in a directory the caller names, or where Debian's
 * dataset-fashion-mnist package installs it.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../io/errors.js';
import { readIdx } from '../io/idx.js';
import type { RawTensor } from '../io/raw.js';

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);

export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const SUBSET_DIR = join('data', 'fashion-mnist-subset');

export interface FashionMnist {
  /** uint8 [n, 28, 28], pixel values 0..255. */
  trainImages: RawTensor;
  /** uint8 [n], class indices 0..9 into classNames. */
  trainLabels: RawTensor;
  testImages: RawTensor;
  testLabels: RawTensor;
  classNames: readonly string[];
  /** The directory the files were read from. */
  dir: string;
}

export interface LoadFashionMnistOptions {
  /** A directory holding the four IDX files (gzipped or not). Wins over `subset`. */
  dir?: string;
  /** true (the default): the subset shipped with chainrule; false: the full set, searched for. */
  subset?: boolean;
}

type Part = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

const FILE_STEMS: Readonly<Record<Part, string>> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** The names a file goes by: the official .gz, unpacked, and the "train-images.idx3-ubyte" spelling some mirrors use. */
function candidateNames(stem: string): string[] {
  const dotted = stem.replace(/-(idx\d)/, '.$1');
  return [`${stem}.gz`, stem, `${dotted}.gz`, dotted];
}

/** Each part's path in `dir`, or the paths tried for the parts that are missing. */
function resolveFiles(dir: string): { files?: Record<Part, string>; missing: string[] } {
  const files: Partial<Record<Part, string>> = {};
  const missing: string[] = [];
  for (const [part, stem] of Object.entries(FILE_STEMS) as [Part, string][]) {
    const paths = candidateNames(stem).map((name) => join(dir, name));
    const found = paths.find((p) => existsSync(p));
    if (found === undefined) missing.push(...paths);
    else files[part] = found;
  }
  return missing.length === 0 ? { files: files as Record<Part, string>, missing } : { missing };
}

/**
 * The directory of the full dataset: `dir` when given, else the Debian package's. Throws
 * FormatError listing every path tried when a file is missing.
 */
export function findFashionMnist(dir?: string): string {
  const candidate = resolve(dir ?? DEBIAN_FASHION_MNIST_DIR);
  const { missing } = resolveFiles(candidate);
  if (missing.length > 0) {
    const hint = dir === undefined ? ' (install the Debian package dataset-fashion-mnist, or pass the directory)' : '';
    throw new FormatError(candidate, `Fashion-MNIST files not found${hint}; tried:\n  ${missing.join('\n  ')}`);
  }
  return candidate;
}

/**
 * The directory of the subset shipped with chainrule. Searched upward from this module
 * because it sits at src/data/ under tsx and at dist/data/ once built, and the package root
 * (which holds data/) is above both.
 */
export function fashionSubsetDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  const tried: string[] = [];
  for (let up = 0; up < 6; up++) {
    const candidate = join(dir, SUBSET_DIR);
    if (existsSync(join(candidate, `${FILE_STEMS.trainLabels}.gz`))) return candidate;
    tried.push(candidate);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new FormatError(SUBSET_DIR, `the Fashion-MNIST subset shipped with chainrule is missing; tried:\n  ${tried.join('\n  ')}`);
}

export async function loadFashionMnist(options: LoadFashionMnistOptions = {}): Promise<FashionMnist> {
  const dir = options.dir !== undefined ? findFashionMnist(options.dir)
    : options.subset === false ? findFashionMnist()
    : fashionSubsetDir();
  const { files, missing } = resolveFiles(dir);
  if (files === undefined) throw new FormatError(dir, `Fashion-MNIST files not found; tried:\n  ${missing.join('\n  ')}`);

  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    (['trainImages', 'trainLabels', 'testImages', 'testLabels'] as const).map((part) => readIdx(files[part])),
  );
  checkSplit(trainImages!, trainLabels!, files.trainImages, files.trainLabels);
  checkSplit(testImages!, testLabels!, files.testImages, files.testLabels);
  return {
    trainImages: trainImages!, trainLabels: trainLabels!, testImages: testImages!, testLabels: testLabels!,
    classNames: FASHION_MNIST_CLASSES, dir,
  };
}

function checkSplit(images: RawTensor, labels: RawTensor, imagesPath: string, labelsPath: string): void {
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new FormatError(imagesPath, `expected u8 images [n, rows, cols], got ${images.dtype} [${images.shape.join(',')}]`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new FormatError(labelsPath, `expected u8 labels [n], got ${labels.dtype} [${labels.shape.join(',')}]`);
  }
  if (images.shape[0] !== labels.shape[0]) {
    throw new FormatError(imagesPath, `has ${images.shape[0]} images but ${labelsPath} has ${labels.shape[0]} labels`);
  }
  const bad = labels.data.findIndex((c) => c >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) {
    throw new FormatError(labelsPath, `label ${labels.data[bad]} at index ${bad} is not a class (0..${FASHION_MNIST_CLASSES.length - 1})`);
  }
}
