import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AnomalyError, ChainruleError, Function, FunctionCtx, detectAnomaly, isAnomalyEnabled, nn, setDetectAnomaly, tensor, zeros,
  type Tensor,
} from '../../src/index.js';

const FILE = fileURLToPath(import.meta.url);
const SOURCE = readFileSync(FILE, 'utf8').split('\n');

/** The 1-based line of this file holding `marker` (in a trailing comment), to check the reported source line. */
function lineOf(marker: string): number {
  const i = SOURCE.findIndex((l) => l.includes(`// ${marker}`));
  if (i < 0) throw new Error(`no line marked ${marker}`);
  return i + 1;
}

/** The error fn throws (failing the test if it throws none). */
function caught(fn: () => unknown): AnomalyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AnomalyError);
    return err as AnomalyError;
  }
  throw new Error('expected an AnomalyError');
}

const f64 = { dtype: 'float64' as const, requiresGrad: true };

afterEach(() => setDetectAnomaly(false));

describe('anomaly mode: forward', () => {
  it('log(0) names log, its input shape and the line of this file that called it', () => {
    const x = tensor([1, 0, 2], f64);
    const err = caught(() => detectAnomaly(() => x.log())); // LOG-LINE
    expect(err).toBeInstanceOf(ChainruleError);
    expect(err.op).toBe('log');
    expect(err.phase).toBe('forward');
    expect(err.inputShapes).toEqual([[3]]);
    const first = err.message.split('\n')[0]!;
    expect(first).toMatch(/^log: produced -Infinity in its output of shape \[3\] \(at index \[1\]\) from inputs of shapes \[3\]/);
    expect(err.source).toContain(`anomaly.test.ts:${lineOf('LOG-LINE')}:`);
    expect(first).toContain(`called at ${err.source}`);
    // chainrule's own frames (src/) are left out of what is shown
    expect(err.message).not.toMatch(/[/\\]src[/\\](ops|autograd|tensor)[/\\]/);
  });

  it('names the op even with no graph recorded (inputs that need no gradient)', () => {
    const a = tensor([1, 2]);
    const b = tensor([0, 1]);
    const err = caught(() => detectAnomaly(() => a.div(b))); // DIV-LINE
    expect(err.op).toBe('div');
    expect(err.inputShapes).toEqual([[2], [2]]);
    expect(err.source).toContain(`anomaly.test.ts:${lineOf('DIV-LINE')}:`);
  });

  it('names the op made inside a layer, with the user line below the layer', () => {
    const lin = new nn.Linear(2, 2);
    lin.weight.typedData.fill(Infinity);
    const x = tensor([[1, -1]]);
    // inf·1 + inf·(−1) = NaN: the product made the NaN (its inputs held only infinities)
    const err = caught(() => detectAnomaly(() => lin.call(x))); // LAYER-LINE
    expect(err.message).toMatch(/^linear: produced NaN/);
    expect(err.inputShapes[0]).toEqual([1, 2]);
    expect(err.source).toContain(`anomaly.test.ts:${lineOf('LAYER-LINE')}:`);
  });

  it('an op that only passes on a NaN or an infinity already in its inputs is not the culprit', () => {
    const x = tensor([NaN, 1]);
    const y = detectAnomaly(() => x.mul(2).add(1).exp());
    expect(Number.isNaN(y.tolist()[0] as number)).toBe(true);
    // a mask of −∞ (attention) passes through where and softmax without a word
    const scores = tensor([[1, 2, -Infinity]]);
    const p = detectAnomaly(() => scores.softmax(-1));
    expect(Array.from(p.dataSync())).toEqual([expect.closeTo(0.269, 3), expect.closeTo(0.731, 3), 0]);
  });

  it('an infinity made NaN is new (inf − inf)', () => {
    const x = tensor([Infinity]);
    const err = caught(() => detectAnomaly(() => x.sub(x)));
    expect(err.op).toBe('sub');
    expect(err.message).toMatch(/^sub: produced NaN .* that held no NaN/);
  });
});

describe('anomaly mode: backward', () => {
  it('sqrt at 0: the infinite gradient names the backward of sqrt and the line that recorded it', () => {
    const x = tensor([4, 0, 1], f64);
    const err = caught(() =>
      detectAnomaly(() => {
        const y = x.sqrt(); // SQRT-LINE
        y.sum().backward();
      }),
    );
    expect(err.op).toBe('sqrt');
    expect(err.phase).toBe('backward');
    expect(err.inputShapes).toEqual([[3]]);
    expect(err.message).toMatch(/^sqrt: in the backward of `sqrt` \(inputs of shapes \[3\]\), the gradient for input 0 \(shape \[3\]\) holds Infinity at index \[1\]/);
    expect(err.source).toContain(`anomaly.test.ts:${lineOf('SQRT-LINE')}:`);
    expect(err.message.split('\n')[0]).toContain(`recorded at ${err.source}`);
  });

  it('0 · sqrt(0): the NaN of 0/0 in the gradient is found at sqrt, not at the mul after it', () => {
    const x = tensor([0, 1], f64);
    const err = caught(() =>
      detectAnomaly(() => {
        const y = x.sqrt().mul(tensor([0, 1], { dtype: 'float64' })); // MUL-LINE
        y.sum().backward();
      }),
    );
    expect(err.op).toBe('sqrt');
    expect(err.message).toMatch(/holds NaN at index \[0\]/);
    expect(err.source).toContain(`anomaly.test.ts:${lineOf('MUL-LINE')}:`);
  });

  it('a custom Function whose backward makes a NaN is named by its node', () => {
    class Bad extends Function {
      static override forward(ctx: FunctionCtx, x: Tensor): Tensor {
        return x.mul(2);
      }
      static override backward(_ctx: FunctionCtx, g: Tensor): Tensor {
        return g.mul(NaN);
      }
    }
    const x = tensor([1, 2], f64);
    const err = caught(() => detectAnomaly(() => Bad.apply(x).sum().backward()));
    expect(err.op).toBe('BadBackward');
    expect(err.phase).toBe('backward');
  });

  it('a graph recorded before the mode was on still names the op, and says where is unknown', () => {
    const x = tensor([0], f64);
    const y = x.sqrt().sum();
    const err = caught(() => detectAnomaly(() => y.backward()));
    expect(err.message).toMatch(/^SqrtBackward: in the backward of `SqrtBackward`.*recorded before anomaly mode was on/);
  });
});

describe('anomaly mode: switching', () => {
  it('off by default: log(0) gives −∞ and backward gives NaN gradients, no error', () => {
    expect(isAnomalyEnabled()).toBe(false);
    const x = tensor([0, 1], f64);
    expect(x.log().tolist()[0]).toBe(-Infinity);
    x.sqrt().mul(tensor([0, 1], { dtype: 'float64' })).sum().backward();
    expect(Number.isNaN(x.grad!.tolist()[0] as number)).toBe(true);
  });

  it('setDetectAnomaly returns the previous mode; detectAnomaly restores it after a return and a throw', () => {
    expect(setDetectAnomaly(true)).toBe(false);
    expect(isAnomalyEnabled()).toBe(true);
    expect(setDetectAnomaly(false)).toBe(true);
    expect(detectAnomaly(() => isAnomalyEnabled())).toBe(true);
    expect(isAnomalyEnabled()).toBe(false);
    expect(() => detectAnomaly(() => zeros([1]).log())).toThrow(AnomalyError);
    expect(isAnomalyEnabled()).toBe(false);
  });

  it('nested detectAnomaly keeps the mode on until the outermost returns', () => {
    detectAnomaly(() => {
      detectAnomaly(() => expect(isAnomalyEnabled()).toBe(true));
      expect(isAnomalyEnabled()).toBe(true);
      expect(() => zeros([2]).log()).toThrow(AnomalyError);
    });
    expect(isAnomalyEnabled()).toBe(false);
    setDetectAnomaly(true);
    detectAnomaly(() => undefined);
    expect(isAnomalyEnabled()).toBe(true); // restored to what it was before: on
  });

  it('an async fn keeps the mode until its promise settles, then restores it (also on rejection)', async () => {
    const p = detectAnomaly(async () => {
      await new Promise((r) => setTimeout(r, 1));
      expect(isAnomalyEnabled()).toBe(true);
      return zeros([1]).add(1).tolist();
    });
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toEqual([1]);
    expect(isAnomalyEnabled()).toBe(false);
    const bad = detectAnomaly(async () => {
      await Promise.resolve();
      return zeros([3]).log(); // ASYNC-LINE
    });
    const err = await bad.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AnomalyError);
    expect((err as AnomalyError).source).toContain(`anomaly.test.ts:${lineOf('ASYNC-LINE')}:`);
    expect(isAnomalyEnabled()).toBe(false);
  });
});
