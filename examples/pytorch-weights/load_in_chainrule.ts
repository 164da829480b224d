/**
 * chainrule side of the weights round trip (see save_from_pytorch.py): load PyTorch's state dict
 * by name into the same architecture, strictly, and check the outputs against PyTorch's.
 *
 *   python3 examples/pytorch-weights/save_from_pytorch.py DIR
 *   npx tsx examples/pytorch-weights/load_in_chainrule.ts DIR
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { nn, noGrad, tensor, type Tensor } from '../../src/index.js';
import { load } from '../../src/io/index.js';

export function architecture(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(4, 16), new nn.BatchNorm1d(16), new nn.ReLU(), new nn.Linear(16, 3));
}

/** Loads DIR/model.safetensors into the architecture and returns the largest |chainrule − PyTorch| on DIR/check.json. */
export async function compareWithPyTorch(dir: string): Promise<number> {
  const model = architecture();
  model.loadStateDict(await load(join(dir, 'model.safetensors'))); // strict: any missing or extra name is an error
  model.eval();
  const check = JSON.parse(await readFile(join(dir, 'check.json'), 'utf8')) as { input: number[][]; output: number[][] };
  const y = noGrad(() => model(tensor(check.input)) as Tensor).toArray() as number[][];
  return Math.max(...y.flatMap((row, i) => row.map((v, j) => Math.abs(v - check.output[i]![j]!))));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2] ?? 'pytorch-weights';
  const err = await compareWithPyTorch(dir);
  console.log(`loaded ${join(dir, 'model.safetensors')} by PyTorch's names; max |chainrule − PyTorch| = ${err.toExponential(2)}`);
  if (!(err < 1e-5)) process.exit(1);
}
