/**
 * The per-epoch progress bar: one line redrawn in place with \r on a terminal, at most
 * every `intervalMs` (redrawing on every batch would cost more than small batches do).
 * When the output is not a terminal (a pipe, a file, CI logs) nothing is drawn: the caller
 * prints one plain line per epoch instead.
 */

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressStats {
  /** Mean training loss so far this epoch. */
  loss: number;
  /** Training accuracy so far this epoch, in [0, 1]. */
  accuracy: number;
  /** Seconds since the epoch started. */
  seconds: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;

export class ProgressBar {
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(
    private readonly out: Output,
    private readonly label: string,
    private readonly total: number,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.out.isTTY === true;
  }

  /** `done` samples of `total` processed. Draws only if enough time has passed. */
  update(done: number, stats: ProgressStats): void {
    if (!this.enabled) return;
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs && done < this.total) return;
    this.lastDraw = t;
    this.out.write(`\r${this.render(done, stats)}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the bar, so the caller's summary line takes its place. */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }

  render(done: number, stats: ProgressStats): string {
    const rate = stats.seconds > 0 ? done / stats.seconds : 0;
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const frac = this.total > 0 ? done / this.total : 1;
    const tail = ` ${String(Math.round(100 * frac)).padStart(3)}% ${done}/${this.total}` +
      ` loss ${stats.loss.toFixed(4)} acc ${percent(stats.accuracy)} ${Math.round(rate)} samples/s ETA ${formatDuration(eta)}`;
    const columns = this.out.columns || 100; // 0 when the terminal's size is unknown
    // A fixed width (room for the longest tail), so the bar does not jitter as numbers change.
    const width = Math.max(0, Math.min(30, columns - this.label.length - 84));
    const filled = Math.round(width * frac);
    const bar = width > 0 ? ` [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]` : '';
    return `${this.label}${bar}${tail}`.slice(0, columns - 1);
  }
}
