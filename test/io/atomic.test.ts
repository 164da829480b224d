import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomic.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./atomic-child.ts', import.meta.url));
const COUNT = 6_000_000; // 24 MB per write: long enough that a kill lands inside one

/**
 * Runs the writer child until it has finished one write and started the next, then
 * SIGKILLs it. Returns the generation it was writing when killed.
 */
function killDuringWrite(target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, target, String(COUNT)], {
      cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    let err = '';
    let killedAt = 0;
    let firstStart = 0;
    let firstWriteMs = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [event, g] = [line.split(' ')[0], Number(line.split(' ')[1])];
        if (event === 'start' && g === 1) firstStart = performance.now();
        if (event === 'done' && g === 1) firstWriteMs = performance.now() - firstStart;
        if (event === 'start' && g === 2 && killedAt === 0) {
          killedAt = g;
          // "start" is printed before the temp file is even opened; killing at once would
          // usually interrupt nothing. Half a write later, the write is under way.
          setTimeout(() => child.kill('SIGKILL'), firstWriteMs / 2);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && killedAt > 0) resolve(killedAt);
      else reject(new Error(`writer exited with ${code ?? signal} before it was killed:\n${err}`));
    });
  });
}

describe('writeFileAtomic', () => {
  it('leaves the previous good file intact when the writer is SIGKILLed mid-write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-atomic-'));
    const target = join(dir, 'checkpoint.safetensors');
    let tornWrites = 0;
    let tempsBefore = 0;
    for (let round = 0; round < 3; round++) {
      const killedAt = await killDuringWrite(target);
      // Every byte must belong to one complete generation: the one before the kill, or the
      // one being written if its rename won the race with the signal.
      const { tensors, metadata } = decodeSafetensors(readFileSync(target), target);
      const generation = Number(metadata.generation);
      expect([killedAt - 1, killedAt]).toContain(generation);
      const values = tensors.values!.data;
      expect(values.length).toBe(COUNT);
      expect(values.every((v) => v === generation)).toBe(true);
      // A leftover temporary file is the evidence that the kill really interrupted a write.
      const temps = readdirSync(dir).filter((name) => name.endsWith('.tmp')).length;
      if (temps > tempsBefore) tornWrites++;
      tempsBefore = temps;
    }
    expect(tornWrites).toBeGreaterThan(0);
    rmSync(dir, { recursive: true }); // about 100 MB of generations and torn temporaries
  });

  it('replaces the contents and leaves no temporary file behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-atomic-'));
    const target = join(dir, 'f.txt');
    writeFileSync(target, 'old contents that are longer');
    await writeFileAtomic(target, 'new');
    expect(readFileSync(target, 'utf8')).toBe('new');
    writeFileAtomicSync(target, Uint8Array.of(1, 2, 3));
    expect(Array.from(readFileSync(target))).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['f.txt']);
  });

  it('cleans up its temporary file and keeps the target when the write fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-atomic-'));
    const target = join(dir, 'sub');
    // Renaming a file over a non-empty directory fails after the temp file was written.
    mkdirSync(join(target, 'inside'), { recursive: true });
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect(() => writeFileAtomicSync(target, 'x')).toThrow();
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
