/**
 * Child process for atomic.test.ts: rewrites one safetensors file forever, each generation
 * g holding `count` float32 values all equal to g, and says on stdout when each write
 * starts and ends so the parent can SIGKILL it in the middle of one.
 *
 *   node --import tsx test/io/atomic-child.ts TARGET COUNT
 */
import { writeFileAtomic } from '../../src/io/atomic.js';
import { encodeSafetensors } from '../../src/io/safetensors.js';

const [target, countText] = process.argv.slice(2);
const count = Number(countText);
for (let g = 1; ; g++) {
  const bytes = encodeSafetensors(
    { values: { dtype: 'float32', shape: [count], data: new Float32Array(count).fill(g) } },
    { generation: String(g) },
  );
  process.stdout.write(`start ${g}\n`);
  await writeFileAtomic(target!, bytes);
  process.stdout.write(`done ${g}\n`);
}
