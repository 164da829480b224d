/**
 * What `chainrule train --plots` leaves next to the checkpoint: loss.svg, accuracy.svg and
 * gradient-flow.svg (see plots.ts). Node only, and kept out of the browser entry
 * (src/inspect/index.ts): the file helpers are imported when the function runs.
 *
 * Wiring in a training loop (the CLI's fit()):
 *   const monitor = plots ? new GradientMonitor(model) : null;
 *   fit({ ..., onBatch: (p) => { monitor?.step(); ... },
 *         onEpochEnd: async (m) => { history.push(m); if (plots) await writeTrainingPlots(outDir, history, monitor); } });
 */
import type { GradientMonitor } from './gradient-monitor.js';
import { trainingPlotSvgs, type TrainingMetricsRow, type TrainingPlotOptions } from './plots.js';

export { trainingPlotSvgs, type TrainingMetricsRow, type TrainingPlotOptions } from './plots.js';

/** Writes the SVGs into `dir` (created if missing), each atomically; returns the paths written. */
export async function writeTrainingPlots(
  dir: string,
  metrics: readonly TrainingMetricsRow[],
  monitor: GradientMonitor | null = null,
  options: TrainingPlotOptions = {},
): Promise<string[]> {
  const [{ mkdir }, { writeFileAtomic }] = await Promise.all([import('node:fs/promises'), import('../io/atomic.js')]);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, svg] of Object.entries(trainingPlotSvgs(metrics, monitor, options))) {
    const path = `${dir.replace(/\/+$/, '')}/${name}`;
    await writeFileAtomic(path, svg);
    written.push(path);
  }
  return written;
}
