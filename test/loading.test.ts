import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';

/**
 * No module of the library needs another to have been imported first: each one, imported
 * alone into a fresh module registry, loads, and the library works from there (the op table,
 * the Tensor methods, cast and the engine's zeros all come from the module's own import graph).
 * The import cycles among tensor/, ops/ and autograd/ make this order-dependent unless no
 * module runs another's code while loading; this test is what keeps it so.
 */

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return modules(p);
    return f.endsWith('.ts') && !f.endsWith('.d.ts') ? [p] : [];
  });
}

// The executable runs the command line when it is imported; everything else is a library module.
const ENTRY_POINTS = new Set(['cli/main.ts']);
const ALL = modules(SRC)
  .map((p) => relative(SRC, p).split('\\').join('/'))
  .filter((m) => !ENTRY_POINTS.has(m))
  .sort();

type Mod = Record<string, any>;
/** Import one module of src/ into an empty registry, then (after it) others it needs for the check. */
async function fresh(first: string): Promise<(m: string) => Promise<Mod>> {
  vi.resetModules();
  await import(/* @vite-ignore */ join(SRC, first));
  return (m) => import(/* @vite-ignore */ join(SRC, m));
}

describe('each module imported first, alone', () => {
  it('finds the modules', () => {
    expect(ALL.length).toBeGreaterThan(100);
    expect(ALL).toContain('ops/functional.ts');
  });

  it.each(ALL)('%s', async (first) => {
    const load = await fresh(first);
    // With that module loaded first, a small forward and backward pass works end to end.
    const { tensor } = await load('index.ts');
    const x = tensor([1, 2], { requiresGrad: true, dtype: 'float64' });
    x.mul(2).exp().sum().backward();
    expect(x.grad!.tolist()).toEqual([2 * Math.exp(2), 2 * Math.exp(4)]);
    expect(x.int().to('float32').clone().dtype).toBe('float32');
  });
});

describe('the modules the review named, used before anything else is imported', () => {
  it('ops/functional.ts: add', async () => {
    const load = await fresh('ops/functional.ts');
    const F = await load('ops/functional.ts');
    const { Tensor } = await load('tensor/tensor.ts'); // already loaded by functional's own imports
    const x = new Tensor(Float32Array.of(1, 2), [2], 'float32');
    expect(F.add(x, 1).tolist()).toEqual([2, 3]);
    expect(x.add(x, 2).tolist()).toEqual([3, 6]);
  });

  it('tensor/tensor.ts: a Tensor has its op methods and casts', async () => {
    const { Tensor } = await (await fresh('tensor/tensor.ts'))('tensor/tensor.ts');
    const x = new Tensor(Int32Array.of(1, 2, 3), [3], 'int32');
    expect(x.float().mul(0.5).sum().item()).toBe(3);
  });

  it('nn/index.ts: a layer runs forward and backward', async () => {
    const nn = await (await fresh('nn/index.ts'))('nn/index.ts');
    const layer = new nn.Linear(3, 2);
    const y = layer.forward(layer.weight.detach()); // any [2, 3] input
    y.sum().backward();
    expect(layer.weight.grad!.shape).toEqual([2, 3]);
  });

  it('optim/index.ts: an optimizer steps', async () => {
    const load = await fresh('optim/index.ts');
    const optim = await load('optim/index.ts');
    const { Tensor } = await load('tensor/tensor.ts');
    const p = new Tensor(Float32Array.of(1, 2), [2], 'float32').requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.5 });
    p.mul(p).sum().backward(); // grad 2p
    opt.step();
    expect(p.tolist()).toEqual([0, 0]);
  });

  it('ops/rules/elementwise.ts: a rule module first (its table is read on the first op)', async () => {
    const load = await fresh('ops/rules/elementwise.ts');
    const { tensor } = await load('tensor/creation.ts');
    expect(tensor([1, 4]).sqrt().tolist()).toEqual([1, 2]);
  });
});

describe('apply', () => {
  it('names an unknown op', async () => {
    const { apply } = await import('../src/ops/registry.js');
    const { OpError } = await import('../src/errors.js');
    expect(() => apply('foo' as never, [], {} as never)).toThrow(OpError);
    expect(() => apply('foo' as never, [], {} as never)).toThrow("apply: unknown op 'foo'");
  });
});

// Vitest's module runner is close to native ESM but not the same; these few run in a plain
// Node process through tsx, whose loader is Node's own, with its exact cycle semantics.
describe('native ESM, one process per module', () => {
  const run = promisify(execFile);
  const tsx = join(SRC, '..', 'node_modules', '.bin', 'tsx');
  const FIRST = ['ops/functional.ts', 'tensor/tensor.ts', 'ops/registry.ts', 'ops/rules/conv.ts', 'autograd/engine.ts', 'nn/index.ts', 'optim/index.ts'];
  it.each(FIRST)('%s', async (first) => {
    const script = [
      `await import(${JSON.stringify(join(SRC, first))});`,
      `const { tensor } = await import(${JSON.stringify(join(SRC, 'index.ts'))});`,
      `const x = tensor([1, 2], { requiresGrad: true });`,
      `x.mul(3).sum().backward();`,
      `console.log(JSON.stringify(x.grad.tolist()));`,
    ].join('\n');
    const { stdout } = await run(tsx, ['--input-type=module', '--eval', script], { cwd: join(SRC, '..') });
    expect(stdout.trim()).toBe('[3,3]');
  });
});
