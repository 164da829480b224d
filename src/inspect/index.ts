/**
 * Backprop you can see: explain() (the four equations with the numbers, checked against
 * autograd), toDot()/toSvg() (the recorded graph), GradientMonitor (gradient flow per layer and
 * step, with warnings), summary() (parameters and multiply-adds) and the training plots.
 * Browser-safe: the WebAssembly Graphviz is loaded by toSvg() on first use. Writing the
 * training plots to disk (writeTrainingPlots) is Node-only: import it from ./training-plots.js.
 */
export { explain, ExplainMismatchError, LOSS_FORMULAS, type ExplainOptions, type ExplainResult, type ExplainLayer } from './explain.js';
export { renderExplain, type ExplainFormat } from './explain-render.js';
export type { ActivationKind, ExplainLossKind, LayerTrace, OutputError, Matrix } from './explain-math.js';
export { toDot, toSvg, opOf, type ToDotOptions } from './dot.js';
export { describeGraph, type GraphDescription, type GraphNode, type GraphEdge, type GraphOptions, type NamedParameterSource } from './graph.js';
export {
  GradientMonitor, type GradientMonitorOptions, type GradientWarning, type LayerRecord, type MonitoredLayer, type StepRecord, type WarningKind,
} from './gradient-monitor.js';
export { gradientFlowSvg, compareGradientFlowSvg } from './gradflow-chart.js';
export { summary, renderSummary, MAC_CONVENTION, type ModelSummary, type SummaryRow } from './summary.js';
export { trainingPlotSvgs, type TrainingMetricsRow, type TrainingPlotOptions } from './plots.js';
export { workedExample, gradflowNetwork, traceLoss, type WorkedExample, type GradflowNetwork, type TracedLoss } from './examples.js';
export { logBarChart, heatmap, lineChart, type Panel } from './charts.js';
