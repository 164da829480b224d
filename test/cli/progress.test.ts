import { describe, expect, it } from 'vitest';
import { formatDuration, ProgressBar } from '../../src/cli/progress.js';

function terminal(isTTY: boolean) {
  const writes: string[] = [];
  return { out: { write: (s: string) => writes.push(s), isTTY, columns: 130 }, writes };
}

describe('the progress bar', () => {
  it('redraws one line with \\r, at most every 100 ms, and always at the end', () => {
    const { out, writes } = terminal(true);
    let t = 0;
    const bar = new ProgressBar(out, 'epoch 1/5', 1000, 100, () => t);
    const stats = (seen: number) => ({ loss: 0.5, accuracy: 0.8, seconds: seen / 500 });
    for (let seen = 100; seen <= 1000; seen += 100) {
      t += 30;
      bar.update(seen, stats(seen));
    }
    expect(writes.length).toBe(4); // t = 30 (first), 150, 270, and the final update
    expect(writes.every((w) => w.startsWith('\r') && w.endsWith('\x1b[K'))).toBe(true);
    expect(writes[0]).toBe(`\repoch 1/5 [###...........................]  10% 100/1000 loss 0.5000 acc 80.00% 500 samples/s ETA 2s\x1b[K`);
    expect(writes[3]).toMatch(/\[#{30}\] 100% 1000\/1000 .* ETA 0s/);
    bar.clear();
    expect(writes[4]).toBe('\r\x1b[K');
  });

  it('draws nothing when the output is not a terminal', () => {
    const { out, writes } = terminal(false);
    const bar = new ProgressBar(out, 'epoch 1/1', 10);
    bar.update(10, { loss: 1, accuracy: 0, seconds: 1 });
    bar.clear();
    expect(writes).toEqual([]);
  });

  it('formats durations', () => {
    expect([0.4, 59.4, 61, 3599, 3600 * 2 + 60 * 5].map(formatDuration)).toEqual(['0s', '59s', '1m01s', '59m59s', '2h05m']);
    expect(formatDuration(Infinity)).toBe('?');
  });
});
