import { describe, expect, it } from 'vitest';
import { ShapeError, noGrad, randn, tensor, zeros, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';

class Net extends nn.Module {
  layers = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
  bn = new nn.BatchNorm1d(3);
  override forward(x: Tensor): Tensor {
    return this.bn.call(this.layers.call(x));
  }
}

const mlp = () =>
  new nn.Sequential(new nn.Linear(5, 10), new nn.Tanh(), new nn.Linear(10, 8), new nn.ReLU(), new nn.Linear(8, 3));

describe('Module registration and traversal', () => {
  it('a 5-10-8-3 MLP has 175 parameters', () => {
    const m = mlp();
    expect(m.numParameters()).toBe(175);
    expect(m.parameters()).toHaveLength(6);
  });

  it('names parameters, buffers and children by dotted path, in registration order', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias', 'bn.weight', 'bn.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    expect(net.buffers()).toHaveLength(3);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['layers', 'bn']);
    expect(net.children()[0]).toBe(net.layers);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'layers', 'layers.0', 'layers.1', 'layers.2', 'bn']);
    expect(net.modules()).toHaveLength(6);
    expect(net.parameters()[0]!.name).toBe('layers.0.weight');
    expect((net.layers.at(2) as nn.Linear).path).toBe('layers.2');
    expect(net.layers.at(-1)).toBe(net.layers.at(2));
  });

  it('counts a shared parameter once and skips a removed one', () => {
    const a = new nn.Linear(3, 3);
    const b = new nn.Linear(3, 3, { bias: false });
    b.weight = a.weight;
    const s = new nn.Sequential(a, b);
    expect(s.parameters()).toHaveLength(2);
    expect(s.numParameters()).toBe(12);
    a.bias = null;
    expect(s.namedParameters().map(([n]) => n)).toEqual(['0.weight']);
  });

  it('counts trainable parameters separately', () => {
    const m = mlp();
    m.at(0).parameters().forEach((p) => p.requiresGrad_(false));
    expect(m.numParameters(true)).toBe(175 - 60);
    expect(m.numParameters()).toBe(175);
  });

  it('refuses a plain tensor assigned over a parameter', () => {
    const l = new nn.Linear(2, 2);
    expect(() => ((l as unknown as Record<string, unknown>).weight = zeros([2, 2]))).toThrow(/cannot assign a Tensor to parameter "weight"/);
    l.weight = new nn.Parameter(zeros([2, 2]));
    expect(l.weight.requiresGrad && l.weight.isLeaf).toBe(true);
  });

  it('a Parameter is a leaf sharing the data of the tensor it wraps, whatever its history', () => {
    const x = randn([3]).requiresGrad_(true);
    const p = new nn.Parameter(x.mul(2));
    expect(p.isLeaf && p.requiresGrad && p.gradFn === null).toBe(true);
    expect(new nn.Parameter(zeros([2]), false).requiresGrad).toBe(false);
    p.sum().backward();
    expect(x.grad).toBeNull();
    expect(p.grad!.tolist()).toEqual([1, 1, 1]);
  });

  it('keeps subclass #private fields and paths working through reassignment', () => {
    class Block extends nn.Module {
      #scale = 3;
      fc = new nn.Linear(2, 2);
      override forward(x: Tensor) {
        return this.fc.call(x).mul(this.#scale);
      }
    }
    class Outer extends nn.Module {
      first = new Block();
      second = new Block();
    }
    const o = new Outer();
    expect(o.first.call(randn([1, 2])).shape).toEqual([1, 2]);
    expect(o.second.fc.path).toBe('second.fc');
    const moved = o.second;
    o.second = new Block();
    expect(moved.fc.path).toBe('fc');
    delete (o as Partial<Outer>).first;
    expect(o.namedChildren().map(([n]) => n)).toEqual(['second']);
  });

  it('registers ModuleList entries but not a plain array of modules', () => {
    class M extends nn.Module {
      list = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 2)]);
      plain = [new nn.Linear(2, 2)];
    }
    const m = new M();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['list.0.weight', 'list.0.bias', 'list.1.weight', 'list.1.bias']);
    m.list.append(new nn.Linear(2, 1));
    expect(m.list.length).toBe(3);
    expect([...m.list].map((l) => (l as nn.Linear).outFeatures)).toEqual([2, 2, 1]);
    expect(() => m.list.forward()).toThrow(/ModuleList has no forward/);
  });

  it('Sequential from named modules, append and iteration', () => {
    const s = new nn.Sequential({ fc: new nn.Linear(2, 3), act: new nn.Sigmoid() });
    s.append(new nn.Linear(3, 1));
    expect(s.namedParameters().map(([n]) => n)).toEqual(['fc.weight', 'fc.bias', '2.weight', '2.bias']);
    expect(s.length).toBe(3);
    expect(s.call(randn([4, 2])).shape).toEqual([4, 1]);
  });

  it('train() and eval() reach every submodule; apply visits children first', () => {
    const net = new Net();
    expect(net.eval().modules().every((m) => !m.training)).toBe(true);
    expect(net.train().modules().every((m) => m.training)).toBe(true);
    const seen: string[] = [];
    net.apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(['Linear', 'ReLU', 'Linear', 'Sequential', 'BatchNorm1d', 'Net']);
  });

  it('zeroGrad sets gradients to null (or zeroes them in place)', () => {
    const m = mlp();
    m.call(randn([2, 5])).sum().backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad(false);
    expect(m.parameters().every((p) => p.grad!.tolist().every((v) => v === 0))).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('forward and call agree; a missing forward is a clear error', () => {
    const m = mlp();
    const x = randn([3, 5]);
    expect(m.call(x).tolist()).toEqual(m.forward(x).tolist());
    expect(() => new nn.Module().call(x)).toThrow(/Module: forward\(\) is not implemented/);
  });

  it('converts parameters and float buffers with double()', () => {
    const net = new Net().double();
    expect(net.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad)).toBe(true);
    expect(net.bn.runningMean!.dtype).toBe('float64');
    expect(net.bn.numBatchesTracked!.dtype).toBe('int32');
    expect(net.call(randn([4, 4], { dtype: 'float64' })).dtype).toBe('float64');
  });

  it('prints the module tree like PyTorch', () => {
    expect(String(new Net())).toBe(
      [
        'Net(',
        '  (layers): Sequential(',
        '    (0): Linear(inFeatures=4, outFeatures=8, bias=true)',
        '    (1): ReLU()',
        '    (2): Linear(inFeatures=8, outFeatures=3, bias=true)',
        '  )',
        '  (bn): BatchNorm1d(3, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)',
        ')',
      ].join('\n'),
    );
  });
});

describe('Linear input checks name the layer path', () => {
  it('wrong feature count', () => {
    const model = new (class Model extends nn.Module {
      layers = new nn.Sequential(new nn.Linear(5, 7), new nn.ReLU(), new nn.Linear(8, 2));
      override forward(x: Tensor) {
        return this.layers.call(x);
      }
    })();
    expect(() => model.call(randn([4, 5]))).toThrow(ShapeError);
    expect(() => model.call(randn([4, 5]))).toThrow('Linear(layers.2): input has 7 features (shape [4,7]) but inFeatures is 8');
    expect(() => new nn.Linear(3, 1).call(randn([2, 4]))).toThrow('Linear: input has 4 features (shape [2,4]) but inFeatures is 3');
  });
});

describe('stateDict and loadStateDict', () => {
  it('round-trips parameters and buffers', () => {
    const a = new Net();
    a.call(randn([6, 4]));
    const b = new Net();
    const sd = a.stateDict();
    expect(Object.keys(sd)).toEqual([
      'layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias',
      'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked',
    ]);
    expect(sd['layers.0.weight']!.requiresGrad).toBe(false);
    expect(b.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [k, v] of Object.entries(b.stateDict())) expect(v.tolist(), k).toEqual(sd[k]!.tolist());
    expect(b.bn.numBatchesTracked!.item()).toBe(1);
    a.eval();
    b.eval();
    const x = randn([3, 4]);
    expect(b.call(x).tolist()).toEqual(a.call(x).tolist());
    // Loaded by copy: changing the source later does not reach the model.
    noGrad(() => sd['layers.0.bias']!.fill_(7));
    expect(b.layers.at(0).parameters()[1]!.tolist()).not.toContain(7);
  });

  it('names every missing key, unexpected key and shape mismatch in one error', () => {
    const sd = new Net().stateDict();
    delete sd['bn.bias'];
    delete sd['layers.2.weight'];
    sd['layers.0.bias'] = zeros([9]);
    sd['extra.weight'] = zeros([1]);
    let message = '';
    try {
      new Net().loadStateDict(sd);
    } catch (e) {
      expect(e).toBeInstanceOf(nn.StateDictError);
      message = (e as Error).message;
    }
    expect(message).toBe(
      [
        'loadStateDict: cannot load the state dict into Net:',
        '  missing keys: "layers.2.weight", "bn.bias"',
        '  unexpected keys: "extra.weight"',
        '  shape mismatch for "layers.0.bias": the state dict has shape [9], the model [8]',
      ].join('\n'),
    );
  });

  it('strict: false reports missing and unexpected keys but still refuses shape mismatches', () => {
    const sd = new Net().stateDict();
    delete sd['bn.bias'];
    sd['other'] = zeros([2]);
    expect(new Net().loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ['bn.bias'], unexpectedKeys: ['other'] });
    sd['bn.weight'] = zeros([4]);
    expect(() => new Net().loadStateDict(sd, { strict: false })).toThrow(/shape mismatch for "bn.weight"/);
  });

  it('leaves non-persistent buffers out', () => {
    const m = new nn.Linear(2, 2);
    m.registerBuffer('scratch', zeros([2]), false);
    m.registerBuffer('kept', tensor([1, 2]));
    expect(Object.keys(m.stateDict())).toEqual(['weight', 'bias', 'kept']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['scratch', 'kept']);
  });
});

describe('callable modules', () => {
  it('model(x) is model.call(x), for built-in layers, containers and subclasses', () => {
    const lin = new nn.Linear(3, 2);
    const x = randn([4, 3]);
    const y: Tensor = lin(x); // typed as the forward's result
    expect(y.toArray()).toEqual(lin.call(x).toArray());
    const seq = new nn.Sequential(new nn.Linear(3, 5), new nn.ReLU(), new nn.Linear(5, 1));
    expect(seq(x).toArray()).toEqual(seq.forward(x).toArray());
    class Net extends nn.Module {
      #scale = 2;
      fc = new nn.Linear(3, 1);
      override forward(t: Tensor) {
        return this.fc(t).mul(this.#scale);
      }
    }
    const net = new Net();
    expect(net(x).toArray()).toEqual(net.fc.call(x).mul(2).toArray());
    expect(net.parameters()).toHaveLength(2);
  });

  it('keeps instanceof, printing, names and fields', () => {
    const lin = new nn.Linear(3, 2);
    expect(typeof lin).toBe('function');
    expect(lin instanceof nn.Linear && lin instanceof nn.Module).toBe(true);
    expect(String(lin)).toBe('Linear(inFeatures=3, outFeatures=2, bias=true)');
    expect(lin.constructor.name).toBe('Linear');
    expect(Object.keys(lin)).toContain('weight');
    class Named extends nn.Module {
      override name = 'mine';
      override length = 3;
    }
    const m = new Named();
    expect([m.name, m.length]).toEqual(['mine', 3]);
    expect(new nn.Sequential(new nn.ReLU(), new nn.Tanh()).length).toBe(2);
  });

  it('errors from a called module name the layer path as model.call does', () => {
    const model = new nn.Sequential(new nn.Linear(5, 7), new nn.ReLU(), new nn.Linear(8, 2));
    expect(() => model(randn([4, 5]))).toThrow('Linear(2): input has 7 features (shape [4,7]) but inFeatures is 8');
  });
});
