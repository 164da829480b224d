/** The messages between the page and its training worker. */
import type { ExplainResult } from 'chainrule/inspect';
import type { Settings } from './settings.js';
import type { GradientBars, Metrics, UnitMaps } from './trainer.js';

export type ToWorker =
  | { type: 'reset'; settings: Settings }
  | { type: 'play' }
  | { type: 'pause' }
  | { type: 'step' };

export interface Frame extends Metrics {
  type: 'frame';
  boundary: Float32Array;
  units: UnitMaps[];
  grad: GradientBars;
  /** Training steps per second over the last chunk (0 when paused). */
  stepsPerSecond: number;
  /** Mean minibatch loss of the steps since the previous frame (NaN when none). */
  batchLoss: number;
}

export type FromWorker =
  | { type: 'backend'; name: string; isolated: boolean; threads: number; sharedMemory: boolean }
  | { type: 'data'; trainXY: Float32Array; trainLabel: Uint8Array; testXY: Float32Array; testLabel: Uint8Array }
  | Frame
  | { type: 'inspect'; step: number; svg: string | null; svgError: string | null; explain: ExplainResult | null; explainError: string | null; notes: string[] }
  | { type: 'error'; message: string };
