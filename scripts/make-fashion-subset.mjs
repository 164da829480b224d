#!/usr/bin/env node
/**
 * Cuts the small Fashion-MNIST subset that ships with chainrule (data/fashion-mnist-subset/)
 * from the full dataset, as installed by Debian's dataset-fashion-mnist package.
 *
 *   node scripts/make-fashion-subset.mjs [fullDatasetDir]
 *
 * The cut is deterministic and class-balanced without a random generator: the first 1,000
 * training images of each class and the first 200 test images of each class, kept in their
 * original order. The full files are nearly balanced already, so this is close to "the
 * first 10,000 / 2,000", but guarantees every class the same weight in a short run.
 *
 * Plain Node with no dependencies, so it runs without a build; it repeats the few lines of
 * IDX handling it needs rather than importing the TypeScript sources.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const TRAIN_PER_CLASS = 1000;
const TEST_PER_CLASS = 200;
const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const DEBIAN_DATA = '/usr/share/datasets/fashion-mnist';
const DEBIAN_README = '/usr/share/doc/dataset-fashion-mnist/README.md.gz';

const sourceDir = process.argv[2] ?? DEBIAN_DATA;
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist-subset');

/** Returns the dims and the element bytes of a u8 IDX file, checking the magic number. */
function readIdxU8(name, expectedDims) {
  const path = join(sourceDir, name);
  const raw = readFileSync(path);
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08 || bytes[3] !== expectedDims) {
    throw new Error(`${path}: expected a u8 IDX file with ${expectedDims} dims`);
  }
  const dims = [];
  for (let i = 0; i < expectedDims; i++) dims.push(bytes.readUInt32BE(4 + 4 * i));
  const headerLength = 4 + 4 * expectedDims;
  const itemSize = dims.slice(1).reduce((a, b) => a * b, 1);
  if (bytes.length !== headerLength + dims[0] * itemSize) throw new Error(`${path}: wrong length`);
  return { dims, itemSize, body: bytes.subarray(headerLength), sha256: sha256(raw) };
}

function writeIdxU8Gz(name, dims, body) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  // gzip from Node's zlib stores no timestamp or name, so reruns give identical bytes.
  const gz = gzipSync(Buffer.concat([header, body]), { level: 9 });
  writeFileSync(join(outDir, name), gz);
  return sha256(gz);
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Indices of the first `perClass` items of each class, in file order. */
function balancedIndices(labels, perClass) {
  const taken = new Array(CLASS_NAMES.length).fill(0);
  const picked = [];
  for (let i = 0; i < labels.length && picked.length < perClass * CLASS_NAMES.length; i++) {
    const c = labels[i];
    if (c >= CLASS_NAMES.length) throw new Error(`label ${c} at index ${i} is not a Fashion-MNIST class`);
    if (taken[c] < perClass) { taken[c]++; picked.push(i); }
  }
  if (picked.length !== perClass * CLASS_NAMES.length) throw new Error(`fewer than ${perClass} items in some class`);
  return picked;
}

function cut(split, perClass) {
  const images = readIdxU8(`${split}-images-idx3-ubyte.gz`, 3);
  const labels = readIdxU8(`${split}-labels-idx1-ubyte.gz`, 1);
  if (images.dims[0] !== labels.dims[0]) throw new Error(`${split}: ${images.dims[0]} images but ${labels.dims[0]} labels`);
  const picked = balancedIndices(labels.body, perClass);
  const imageBody = Buffer.alloc(picked.length * images.itemSize);
  picked.forEach((src, dst) => images.body.copy(imageBody, dst * images.itemSize, src * images.itemSize, (src + 1) * images.itemSize));
  const labelBody = Buffer.from(picked.map((i) => labels.body[i]));
  return {
    count: picked.length,
    lastIndex: picked[picked.length - 1],
    sources: { images: images.sha256, labels: labels.sha256 },
    outputs: {
      images: writeIdxU8Gz(`${split}-images-idx3-ubyte.gz`, [picked.length, ...images.dims.slice(1)], imageBody),
      labels: writeIdxU8Gz(`${split}-labels-idx1-ubyte.gz`, [picked.length], labelBody),
    },
  };
}

/** The licence exactly as upstream states it, from the README the Debian package ships. */
function upstreamLicense() {
  const readme = gunzipSync(readFileSync(DEBIAN_README)).toString('utf8');
  const start = readme.indexOf('## License');
  if (start < 0) throw new Error(`${DEBIAN_README}: no License section`);
  return readme.slice(start + '## License'.length).trim() + '\n';
}

mkdirSync(outDir, { recursive: true });
const train = cut('train', TRAIN_PER_CLASS);
const test = cut('t10k', TEST_PER_CLASS);
writeFileSync(join(outDir, 'LICENSE'), upstreamLicense());

const readme = `# Fashion-MNIST subset

A small, class-balanced cut of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist)
(Xiao, Rasul and Vollgraf, Zalando Research, 2017), shipped so that chainrule can train on
real images out of the box. Copyright 2017 Zalando SE, MIT licence: see [LICENSE](LICENSE).

## Where it came from

The full dataset as packaged by Debian (\`dataset-fashion-mnist\`, upstream snapshot
0.0~git20200523.55506a9, installed under \`${DEBIAN_DATA}\`). Source files (SHA-256):

| file | sha256 |
| --- | --- |
| train-images-idx3-ubyte.gz | ${train.sources.images} |
| train-labels-idx1-ubyte.gz | ${train.sources.labels} |
| t10k-images-idx3-ubyte.gz | ${test.sources.images} |
| t10k-labels-idx1-ubyte.gz | ${test.sources.labels} |

## How it was cut

By \`scripts/make-fashion-subset.mjs\`, deterministically, with no random sampling: the
first ${TRAIN_PER_CLASS} training images of each class (${train.count} in all, drawn from the
first ${train.lastIndex + 1} of the 60,000) and the first ${TEST_PER_CLASS} test images of each class
(${test.count} in all, from the first ${test.lastIndex + 1} of the 10,000), each kept in its
original order. Rerunning the script gives byte-identical files.

| file | items | sha256 |
| --- | --- | --- |
| train-images-idx3-ubyte.gz | ${train.count} × 28 × 28 | ${train.outputs.images} |
| train-labels-idx1-ubyte.gz | ${train.count} | ${train.outputs.labels} |
| t10k-images-idx3-ubyte.gz | ${test.count} × 28 × 28 | ${test.outputs.images} |
| t10k-labels-idx1-ubyte.gz | ${test.count} | ${test.outputs.labels} |

The files keep the original IDX format (gzip-compressed): u8 pixels 0 (background) to
255, row-major 28 × 28, and u8 labels.

## Classes

| label | class |
| --- | --- |
${CLASS_NAMES.map((name, i) => `| ${i} | ${name} |`).join('\n')}
`;
writeFileSync(join(outDir, 'README.md'), readme);
console.log(`wrote ${train.count} training and ${test.count} test items to ${outDir}`);
