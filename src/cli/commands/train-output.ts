/**
 * `train --out DIR` never replaces what is not its own. Before the first epoch, DIR must be
 * empty (chainrule's own hidden files aside), or hold a checkpoint of the same run (the same
 * model, data and training options; the number of epochs may differ), or --overwrite must be
 * given; otherwise the message says what is there. The run holds DIR's lock (io/lock.ts)
 * from this check to its end, so a second training into DIR fails at once.
 */
import { readdir, realpath } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST, readCheckpointConfig } from '../../io/checkpoint.js';
import { LOCK_FILE } from '../../io/lock.js';
import { validateRunConfig } from '../../train/config-schema.js';
import type { RunConfig } from '../../train/session.js';
import { CliError } from '../errors.js';

/** Names chainrule itself leaves in a checkpoint directory while writing it. */
function isOwnHidden(name: string): boolean {
  return name.startsWith(LOCK_FILE) || name.startsWith('.staging-') || name === '.commit';
}

function describeRun(c: RunConfig): string {
  const m = c.model;
  const shape = m.kind === 'mlp' ? `mlp ${m.layers.join('-')} ${m.activation}` : `cnn ${m.activation}`;
  const data = c.data.kind === 'csv' ? `on ${c.data.path}` : 'on Fashion-MNIST';
  return `${shape} ${data}, ${c.training.optimizer} lr ${c.training.lr}, epoch ${c.epoch} of ${c.training.epochs}`;
}

/** The settings that make two configs the same run (all but the number of epochs and the bookkeeping). */
function runKey(c: RunConfig): string {
  const { epochs: _epochs, ...training } = c.training;
  return JSON.stringify([c.model, c.data, training]);
}

/** Throws CliError when `out` holds something this run must not replace (see above). */
export async function checkOutputDir(out: string, cfg: RunConfig, resumedFrom: string | null): Promise<void> {
  if (resumedFrom !== null && existsSync(resumedFrom) && (await realpath(resumedFrom)) === (await realpath(out))) return;
  const entries = (await readdir(out)).filter((n) => !isOwnHidden(n)).sort();
  if (entries.length === 0) return;
  const advice = 'pass --overwrite to write there anyway, or choose another --out';
  if (!entries.includes(MANIFEST) && !existsSync(join(out, '.commit', MANIFEST))) {
    const shown = entries.slice(0, 4).join(', ') + (entries.length > 4 ? ` and ${entries.length - 4} more` : '');
    throw new CliError(`--out ${out} is not empty and holds no chainrule checkpoint (${shown}); its files would be replaced: ${advice}`);
  }
  let other: RunConfig;
  try {
    other = validateRunConfig(await readCheckpointConfig(out), join(out, 'config.json'));
  } catch (err) {
    throw new CliError(`--out ${out} holds a checkpoint that cannot be read (${(err as Error).message.split('\n')[0]}); ${advice}`);
  }
  if (runKey(other) !== runKey(cfg)) {
    throw new CliError(`--out ${out} holds the checkpoint of another run (${describeRun(other)}; this run: ${describeRun(cfg)}); ` +
      `${advice}, or --resume ${out} to continue that run`);
  }
}
