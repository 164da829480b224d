import { describe, expect, it } from 'vitest';
import { AccumulateGrad, manualSeed, randn, tensor, type Node, type Tensor } from '../../src/index.js';
import { Linear, ReLU, Sequential } from '../../src/nn/index.js';
import { crossEntropy } from '../../src/nn/functional.js';
import { toDot, toSvg } from '../../src/inspect/dot.js';
import { runCli } from './cli.js';
import { allText, findAll, parseXml } from './xml.js';

/** The graph walked here independently of the code under test. */
function walk(root: Tensor): { ops: Node[]; leaves: AccumulateGrad[]; edges: number; constantInputs: number } {
  const seen = new Set<Node>();
  const todo = [root.gradFn!];
  let edges = 0;
  let constantInputs = 0;
  while (todo.length) {
    const n = todo.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.next) {
      if (e) {
        edges++;
        todo.push(e.node);
      } else constantInputs++;
    }
  }
  const all = [...seen];
  return { ops: all.filter((n) => !(n instanceof AccumulateGrad)), leaves: all.filter((n): n is AccumulateGrad => n instanceof AccumulateGrad), edges, constantInputs };
}

interface DotGraph {
  nodes: Map<string, { cls: string; line: string }>;
  forward: [string, string][];
  gradient: [string, string][];
}

function parseDot(dot: string): DotGraph {
  const nodes = new Map<string, { cls: string; line: string }>();
  const forward: [string, string][] = [];
  const gradient: [string, string][] = [];
  for (const line of dot.split('\n')) {
    const e = /^\s+(\w+) -> (\w+) \[class="(forward|gradient)"/.exec(line);
    if (e) (e[3] === 'forward' ? forward : gradient).push([e[1]!, e[2]!]);
    const n = /^\s+(\w+) \[class="(\w+)"/.exec(line);
    if (n) nodes.set(n[1]!, { cls: n[2]!, line });
  }
  return { nodes, forward, gradient };
}

function smallMlp() {
  manualSeed(3);
  const model = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));
  const x = randn([5, 3]);
  const y = tensor([0, 1, 1, 0, 1], { dtype: 'int32' });
  const loss = crossEntropy(model.call(x), y);
  return { model, x, y, loss };
}

describe('toDot', () => {
  it('one node per recorded op plus one per leaf, edges matching the graph, parameters by module path', () => {
    const { model, loss } = smallMlp();
    const g = walk(loss);
    const dot = parseDot(toDot(loss, { modelForNames: model, constants: false }));
    const ops = [...dot.nodes.values()].filter((n) => n.cls === 'op');
    const params = [...dot.nodes.values()].filter((n) => n.cls === 'parameter');
    expect(ops.length).toBe(g.ops.length);
    expect(params.length).toBe(g.leaves.length);
    expect(dot.nodes.size).toBe(g.ops.length + g.leaves.length);
    expect(dot.forward.length).toBe(g.edges);
    // Every edge joins two drawn nodes, and gradient edges run exactly against the forward ones.
    for (const [a, b] of dot.forward) expect(dot.nodes.has(a) && dot.nodes.has(b)).toBe(true);
    expect(new Set(dot.gradient.map(([a, b]) => `${b}>${a}`))).toEqual(new Set(dot.forward.map(([a, b]) => `${a}>${b}`)));
    // Each op's label names its gradFn; each parameter its module path, with one edge per use.
    for (const op of g.ops) expect(ops.some((n) => n.line.includes(op.name))).toBe(true);
    for (const [path, p] of model.namedParameters()) {
      const [id, node] = [...dot.nodes.entries()].find(([, n]) => n.line.includes(`<B>${path}</B>`))!;
      expect(node.cls).toBe('parameter');
      expect(node.line).toContain(`[${p.shape.join(', ')}]`);
      expect(dot.forward.filter(([a]) => a === id).length).toBe(1);
    }
    expect(model.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('draws constant inputs when asked (the default), and knows x when the op saved it', () => {
    const { model, x, loss } = smallMlp();
    const g = walk(loss);
    const dot = toDot(loss, { modelForNames: model, tensors: { x } });
    const parsed = parseDot(dot);
    const constants = [...parsed.nodes.values()].filter((n) => n.cls === 'constant');
    expect(constants.length).toBe(g.constantInputs);
    expect(parsed.forward.length).toBe(g.edges + g.constantInputs);
    expect(constants.some((n) => n.line.includes('<B>x</B>') && n.line.includes('[5, 3]'))).toBe(true);
  });

  it('small tensors show value and gradient; a node used twice says its gradient is a sum', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    w.name = 'w';
    const h = w.mul(3).retainGrad();
    const loss = h.sum().add(h.pow(2).sum());
    loss.backward(undefined, { retainGraph: true });
    const dot = toDot(loss, { tensors: { h } });
    const d = parseDot(dot);
    const leaf = [...d.nodes.values()].find((n) => n.cls === 'leaf')!;
    expect(leaf.line).toContain('value [1, 2]');
    expect(leaf.line).toContain('grad [21, 39]'); // d/dw (3w + 9w²) = 3 + 18w
    const hNode = [...d.nodes.values()].find((n) => n.line.includes('<B>h = mul</B>'))!;
    expect(hNode.line).toContain('∑ of 2 paths');
    expect(hNode.line).toContain('grad [7, 13]'); // 1 + 2h, summed over both uses
    expect(dot).toContain('gradient flows back');
  });

  it('toSvg renders in-process to well-formed SVG that carries the labels', async () => {
    const { model, loss } = smallMlp();
    const svg = await toSvg(toDot(loss, { modelForNames: model }));
    const root = parseXml(svg);
    expect(root.name).toBe('svg');
    const text = allText(root);
    expect(text).toContain('0.weight');
    expect(text).toContain('LinearBackward'); // nn.Linear records one fused op (as PyTorch's AddmmBackward)
    expect(findAll(root, (e) => e.attrs.class === 'node parameter').length).toBe(4);
  });

  it('chainrule graph writes DOT by default and SVG on request', async () => {
    const dot = await runCli('graph');
    expect(dot.code).toBe(0);
    expect(dot.stdout.startsWith('digraph chainrule {')).toBe(true);
    expect(dot.stdout).toContain('<B>0.weight</B>');
    expect(dot.stdout).toContain('value [0.3775, 0.3925, 0.4075]');
    const svg = await runCli('graph', '--format', 'svg');
    expect(parseXml(svg.stdout).name).toBe('svg');
  });
});
