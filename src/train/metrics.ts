/** Per-epoch training metrics, and their CSV form. Browser-safe. */

export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  /** Mean cross-entropy over the epoch's training samples (as the weights changed along). */
  trainLoss: number;
  trainAccuracy: number;
  /** null when there is no test set. */
  testLoss: number | null;
  testAccuracy: number | null;
  /** The learning rate the epoch trained with (of the first parameter group). */
  lr: number;
  seconds: number;
}

export const METRIC_COLUMNS = ['epoch', 'trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'lr', 'seconds'] as const;

export function metricsToCsv(rows: readonly EpochMetrics[]): string {
  const header = 'epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds';
  const cell = (v: number | null) => (v === null ? '' : String(v));
  return `${[header, ...rows.map((r) => METRIC_COLUMNS.map((k) => cell(r[k])).join(','))].join('\n')}\n`;
}

/** Number of rows whose largest logit is at the label's index. */
export function countCorrect(logits: ArrayLike<number>, classes: number, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    let bestValue = -Infinity;
    for (let k = 0; k < classes; k++) {
      const v = logits[i * classes + k]!;
      if (v > bestValue) {
        bestValue = v;
        best = k;
      }
    }
    if (best === labels[i]) correct++;
  }
  return correct;
}

export function isEpochMetrics(v: unknown): v is EpochMetrics {
  return typeof v === 'object' && v !== null && typeof (v as EpochMetrics).epoch === 'number' && typeof (v as EpochMetrics).trainLoss === 'number';
}
