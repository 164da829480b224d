import { describe, expect, it } from 'vitest';
import { flag, formatFlags, parseArgs } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/errors.js';

const SPECS = {
  lr: flag.number('learning rate', { positive: true }),
  batchSize: flag.int('batch', { positive: true, defaultText: '64' }),
  layers: flag.intList('sizes', { minLength: 2 }),
  optimizer: flag.choice('opt', ['sgd', 'adam'] as const),
  quiet: flag.bool('quiet'),
  out: flag.string('dir', { valueName: 'DIR' }),
};

const parse = (...argv: string[]) => parseArgs(argv, SPECS, 'chainrule x');
const fails = (argv: string[], message: string) => {
  expect(() => parse(...argv)).toThrow(UsageError);
  expect(() => parse(...argv)).toThrow(message);
};

describe('parseArgs', () => {
  it('reads --flag value, --flag=value, kebab-case names, switches and positionals', () => {
    const r = parse('dir', '--lr', '1e-3', '--batch-size=32', '--layers', '784,128,10', '--optimizer', 'ADAM', '--quiet', '--out', 'o');
    expect(r.values).toEqual({ lr: 1e-3, batchSize: 32, layers: [784, 128, 10], optimizer: 'adam', quiet: true, out: 'o' });
    expect(r.positionals).toEqual(['dir']);
    expect(parse('--', '--lr').positionals).toEqual(['--lr']);
  });

  it('names the flag in every complaint', () => {
    fails(['--lr', 'abc'], '--lr: "abc" is not a number');
    fails(['--lr', '-1'], '--lr: must be > 0, got -1');
    fails(['--lr', ''], '--lr needs a value, got an empty string');
    fails(['--lr'], '--lr needs a value: --lr X');
    fails(['--lr', '--quiet'], '--lr needs a value');
    fails(['--batch-size', '2.5'], '--batch-size: "2.5" is not an integer');
    fails(['--layers', '784'], '--layers: needs at least 2 sizes, got 1');
    fails(['--layers', '784,,10'], '--layers: "784,,10" must be comma-separated positive integers (e.g. 784,128,10); "" is not one');
    fails(['--layers', '784,0'], '"0" is not one');
    fails(['--optimizer', 'rmsprop'], '--optimizer: "rmsprop" is not one of sgd, adam');
    fails(['--quiet=1'], '--quiet is a switch and takes no value');
    fails(['--batchsize', '3'], 'unknown flag --batchsize for chainrule x; did you mean --batch-size? (see chainrule x --help)');
    fails(['--frobnicate'], 'unknown flag --frobnicate for chainrule x (see chainrule x --help)');
    fails(['-x'], 'unknown flag -x');
  });

  it('writes a help table with placeholders and defaults', () => {
    const text = formatFlags(SPECS);
    expect(text).toMatch(/^ {2}--lr X {2,}learning rate$/m);
    expect(text).toMatch(/^ {2}--batch-size N {2,}batch \[default: 64\]$/m);
    expect(text).toMatch(/^ {2}--optimizer NAME {2,}opt \(sgd, adam\)$/m);
    expect(text).toMatch(/^ {2}--quiet {2,}quiet$/m);
  });
});
