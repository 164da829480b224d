/**
 * The gradient-flow picture: bars of the gradient norm per layer on a log axis (the seeds'
 * figure), a layer × step heatmap, and the monitor's warnings written under them.
 */
import { heatmap, logBarChart, stack, type Panel } from './charts.js';
import type { GradientMonitor } from './gradient-monitor.js';
import { PALETTE, svgDocument, text } from './svg.js';

function wrap(s: string, chars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line && (line + ' ' + word).length > chars) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Warnings as a panel of red lines (or one grey "no warnings" line). */
export function warningsPanel(messages: string[], width: number): Panel {
  const lines = messages.length ? messages.flatMap((m) => wrap(`⚠ ${m}`, Math.floor((width - 40) / 6.4)).map((l, i) => (i ? `   ${l}` : l))) : ['No warnings: no vanishing, exploding or dead layers detected.'];
  const body = lines.map((l, i) => text(20, 18 + i * 17, l, { fill: messages.length ? PALETTE.vermillion : PALETTE.grey, class: 'warning', 'font-size': 12 })).join('');
  return { width, height: 14 + lines.length * 17, body };
}

const Y_LABEL = 'gradient norm ‖·‖₂ (log scale)';
const X_LABEL = 'layer (input → output)';

export function gradientFlowSvg(monitor: GradientMonitor, title: string): string {
  const last = monitor.history[monitor.history.length - 1];
  const categories = monitor.layers.map((l) => l.label);
  const bars = logBarChart({
    title: `${title}: gradient norm per layer${last ? ` (step ${last.step})` : ''}`,
    categories,
    series: [
      { name: '‖δ‖ (∂L/∂z)', values: monitor.layers.map((_, i) => last?.layers[i]!.deltaNorm ?? Number.NaN), colour: PALETTE.blue },
      { name: '‖∂L/∂W‖', values: monitor.layers.map((_, i) => last?.layers[i]!.weightGradNorm ?? Number.NaN), colour: PALETTE.orange },
    ],
    xLabel: X_LABEL,
    yLabel: Y_LABEL,
    width: Math.max(760, 120 + monitor.layers.length * 80),
  });
  const width = bars.width;
  const panels: Panel[] = [bars];
  if (monitor.history.length > 0) {
    panels.push(heatmap({
      title: '‖δ‖ per layer and step',
      rows: categories,
      cols: monitor.history.map((s) => s.step),
      values: monitor.layers.map((_, i) => monitor.history.map((s) => (s.layers[i]!.deltaNorm ?? s.layers[i]!.weightGradNorm ?? Number.NaN))),
      xLabel: 'training step',
      yLabel: 'layer',
      scaleLabel: '‖δ‖₂',
      width,
    }));
  }
  panels.push(warningsPanel(monitor.warnings().map((w) => w.message), width));
  const all = stack(panels, 14);
  return svgDocument(Math.max(all.width, width), all.height + 10, all.body, `${title}: gradient flow`);
}

/** Several runs side by side, one bar series each (e.g. sigmoid against ReLU), with every run's warnings. */
export function compareGradientFlowSvg(runs: { name: string; monitor: GradientMonitor }[], title: string): string {
  const colours = [PALETTE.orange, PALETTE.blue, PALETTE.green, PALETTE.purple, PALETTE.sky];
  const first = runs[0]!.monitor;
  const bars = logBarChart({
    title,
    categories: first.layers.map((l) => l.label),
    series: runs.map((r, k) => {
      const last = r.monitor.history[r.monitor.history.length - 1];
      return { name: r.name, values: r.monitor.layers.map((_, i) => (last ? (last.layers[i]!.deltaNorm ?? Number.NaN) : Number.NaN)), colour: colours[k % colours.length]! };
    }),
    xLabel: X_LABEL,
    yLabel: `‖δ‖₂ = ‖∂L/∂z‖₂ (log scale)`,
  });
  const width = Math.max(bars.width, 640);
  const messages = runs.flatMap((r) => r.monitor.warnings().map((w) => `${r.name}: ${w.message}`));
  const all = stack([bars, warningsPanel(messages, width)], 10);
  return svgDocument(width, all.height + 10, all.body, title);
}
