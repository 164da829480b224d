/**
 * A training process SIGKILLed in the middle of saving a checkpoint. The test hook
 * CHAINRULE_TEST_CHECKPOINT_PAUSE=stage@n (src/io/checkpoint.ts) stops the n-th save at a
 * given stage, so the kill lands exactly there instead of wherever the timing falls.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import type { RawTensor } from '../../src/io/raw.js';
import { cli, startCli, tempDir } from '../cli/helpers.js';

const RUN = ['--limit', '200', '--layers', '784,16,10', '--batch-size', '50', '--quiet'];

/** Starts `train`, waits until its second save pauses at `stage`, then SIGKILLs it. */
function killDuringSave(dir: string, stage: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = startCli(['train', ...RUN, '--epochs', '3', '--out', dir], { CHAINRULE_TEST_CHECKPOINT_PAUSE: `${stage}@2` });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes(`checkpoint-pause ${stage}`)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`train exited with ${code} before it was killed:\n${err}`));
    });
  });
}

async function reference(epochs: number): Promise<Record<string, RawTensor>> {
  const dir = tempDir('reference');
  const r = await cli('train', ...RUN, '--epochs', String(epochs), '--out', dir);
  expect(r.code, r.stderr).toBe(0);
  return (await loadCheckpoint(dir)).model;
}

describe('a checkpoint save killed midway', () => {
  it('leaves a loadable checkpoint with the right values at every stage', async () => {
    const [afterOne, afterTwo] = await Promise.all([reference(1), reference(2)]);
    // staging: some files of epoch 2 written; staged: all written, not committed. Both leave
    // epoch 1. installing: committed, files half moved into place: readers see epoch 2.
    const cases = [['staging', 1, afterOne], ['staged', 1, afterOne], ['installing', 2, afterTwo]] as const;
    const dirs = cases.map(() => tempDir('killed'));
    await Promise.all(cases.map(([stage], i) => killDuringSave(dirs[i]!, stage)));
    for (const [i, [stage, epoch, weights]] of cases.entries()) {
      const ckpt = await loadCheckpoint(dirs[i]!);
      expect((ckpt.config as { epoch: number }).epoch, stage).toBe(epoch);
      expect((ckpt.metrics as unknown[]).length, stage).toBe(epoch);
      expect(ckpt.model, stage).toEqual(weights);
      expect(readdirSync(dirs[i]!).some((f) => f.startsWith('.')), stage).toBe(true); // the interrupted save's leftovers
    }

    // Resuming from the interrupted directory finishes the run as if nothing had happened,
    // and the save cleans up what the killed one left.
    const straight = tempDir('straight');
    expect((await cli('train', ...RUN, '--epochs', '3', '--out', straight)).code).toBe(0);
    const want = (await loadCheckpoint(straight)).model;
    for (const resumed of dirs) {
      const r = await cli('train', '--resume', resumed, '--epochs', '3', '--quiet');
      expect(r.code, r.stderr).toBe(0);
      expect((await loadCheckpoint(resumed)).model).toEqual(want);
      expect(readdirSync(resumed).filter((f) => f.startsWith('.'))).toEqual([]);
    }
  });
});
