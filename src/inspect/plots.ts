/**
 * The pictures of a training run as SVG text: loss and accuracy curves (train and test) and
 * the gradient-flow chart of a GradientMonitor. Browser-safe; training-plots.ts writes them
 * to disk for `chainrule train --plots`.
 */
import { lineChart } from './charts.js';
import type { GradientMonitor } from './gradient-monitor.js';
import { PALETTE, svgDocument } from './svg.js';

/** What the curves need of each epoch; the CLI's EpochMetrics has these fields. */
export interface TrainingMetricsRow {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
}

export interface TrainingPlotOptions {
  /** The loss's name on the y axis. Default 'cross-entropy loss (nats)'. */
  lossLabel?: string;
  title?: string;
}

const pct = (v: number): string => `${Number((100 * v).toFixed(1))}%`;

/** File name → SVG text: loss.svg, accuracy.svg and (with a monitor that recorded steps) gradient-flow.svg. */
export function trainingPlotSvgs(
  metrics: readonly TrainingMetricsRow[],
  monitor: GradientMonitor | null = null,
  options: TrainingPlotOptions = {},
): Record<string, string> {
  const title = options.title ?? 'Training';
  const hasTest = metrics.some((m) => m.testLoss !== null);
  const series = (key: 'Loss' | 'Accuracy') => [
    { name: 'train', points: metrics.map((m) => [m.epoch, m[`train${key}`]] as [number, number]), colour: PALETTE.blue },
    ...(hasTest
      ? [{ name: 'test', points: metrics.filter((m) => m[`test${key}`] !== null).map((m) => [m.epoch, m[`test${key}`]!] as [number, number]), colour: PALETTE.vermillion, dashed: true }]
      : []),
  ];
  const loss = lineChart({
    title: `${title}: loss per epoch`,
    series: series('Loss'),
    xLabel: 'epoch',
    yLabel: options.lossLabel ?? 'cross-entropy loss (nats)',
    integerX: true,
  });
  const accs = metrics.flatMap((m) => [m.trainAccuracy, m.testAccuracy ?? m.trainAccuracy]);
  const accuracy = lineChart({
    title: `${title}: accuracy per epoch`,
    series: series('Accuracy'),
    xLabel: 'epoch',
    yLabel: 'accuracy (% of samples correct)',
    yMin: Math.max(0, Math.min(...accs, 1) - 0.05),
    yMax: Math.min(1, Math.max(...accs, 0) + 0.02),
    yFormat: pct,
    integerX: true,
  });
  const out: Record<string, string> = {
    'loss.svg': svgDocument(loss.width, loss.height, loss.body, `${title}: loss`),
    'accuracy.svg': svgDocument(accuracy.width, accuracy.height, accuracy.body, `${title}: accuracy`),
  };
  if (monitor && monitor.history.length > 0) out['gradient-flow.svg'] = monitor.toSvg(title);
  return out;
}
