/** The flags that choose a dataset, shared by train and eval. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { findFashionMnist } from '../../data/fashion.js';
import { FormatError } from '../../io/errors.js';
import type { DataSource } from '../../train/data.js';
import { flag, type FlagValues } from '../args.js';
import { UsageError } from '../errors.js';

export const DATA_FLAGS = {
  data: flag.string('a directory with the four Fashion-MNIST IDX files (e.g. the full set)', { valueName: 'DIR' }),
  full: flag.bool('the full Fashion-MNIST (60k/10k), where Debian\'s dataset-fashion-mnist installs it'),
  csv: flag.string('a numeric CSV of your own: one row per sample, one column holds the class', { valueName: 'FILE' }),
  labelColumn: flag.string('the CSV\'s class column, by header name or 0-based index (-1: the last)', { valueName: 'NAME|INDEX', defaultText: 'the last column' }),
  testSplit: flag.number('fraction of the CSV\'s rows held out as the test set', { nonNegative: true, belowOne: true, defaultText: '0.2' }),
  limit: flag.int('use only the first N training (and N test) samples', { positive: true }),
  allowNan: flag.bool('keep NaN, Inf and beyond-float32 cells of a --csv file (refused by default)'),
};

export type DataFlagValues = FlagValues<typeof DATA_FLAGS>;

export function parseLabelColumn(spec: string | undefined): string | number {
  if (spec === undefined) return -1;
  return /^-?\d+$/.test(spec.trim()) ? Number(spec) : spec;
}

/** Whether any flag that picks a dataset was given. */
export function hasDataFlags(v: DataFlagValues): boolean {
  return v.data !== undefined || v.full !== undefined || v.csv !== undefined;
}

/**
 * The data source the flags ask for: the embedded Fashion-MNIST subset when none is given.
 * `seed` fixes the CSV's train/test split. Paths are made absolute, so that a checkpoint's
 * config.json finds its data from any working directory.
 */
export function dataSourceFromFlags(v: DataFlagValues, seed: number, defaults: { testSplit?: number } = {}): DataSource {
  const given = (['data', 'full', 'csv'] as const).filter((k) => v[k] !== undefined);
  if (given.length > 1) throw new UsageError(`--${given[0]} and --${given[1]} both choose the data; give one`);
  if (v.csv === undefined) {
    for (const k of ['labelColumn', 'testSplit', 'allowNan'] as const) {
      if (v[k] !== undefined) throw new UsageError(`--${k === 'labelColumn' ? 'label-column' : k === 'testSplit' ? 'test-split' : 'allow-nan'} applies to --csv data only`);
    }
  }
  const limit = v.limit ?? null;
  if (v.csv !== undefined) {
    return {
      kind: 'csv', path: resolve(v.csv), labelColumn: parseLabelColumn(v.labelColumn),
      testSplit: v.testSplit ?? defaults.testSplit ?? 0.2, seed, limit,
      ...(v.allowNan === true ? { allowNan: true } : {}),
    };
  }
  if (v.full) return { kind: 'fashion-mnist', dir: findFashionMnist(), limit };
  if (v.data !== undefined && !statSync(v.data, { throwIfNoEntry: false })?.isDirectory()) {
    throw new FormatError(v.data, 'no such directory (--data names a directory holding the four Fashion-MNIST IDX files)');
  }
  return { kind: 'fashion-mnist', dir: v.data === undefined ? null : resolve(v.data), limit };
}
