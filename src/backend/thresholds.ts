import type { KernelName } from './types.js';

/**
 * Every size threshold that routes work between the kernels, in one place. The dispatcher
 * (./dispatch.ts) sends a call to the current backend's kernel only from the work given here
 * (elements, or multiply-adds m·n·k for the products; what each op passes is written at its
 * call), and to the reference loops below it. CHAINRULE_KERNEL_THRESHOLDS=0 sets them all to 0
 * (./env.ts), so the per-backend test runs exercise the fast kernels on tiny tensors too.
 * Measured on Zen 4/5 with Node 20; see PERF-NOTES.md for the call and copy costs behind them.
 */

/**
 * Below this much work a JS loop over a few dozen numbers beats any call into WebAssembly or native
 * code (a call, argument checks, for wasm the copies in and out), and skipping the fast kernel keeps
 * per-op overhead low for small graphs (XOR). The backends' own break-evens lie below it (native: gemm
 * 32 multiply-adds, exp/tanh/sigmoid 16 elements, other unary 64, binary and reduce 128; wasm: gemm 256,
 * transcendental unary 32, binary, reduce and other unary 128), so TINY alone decides for those kernels.
 */
export const TINY = 256;

/**
 * indexSelect's row gather (a dataset's batch) through the native kernel only from 64 KB of float32:
 * below it the typed-array `set` per row is as fast as the N-API call.
 */
export const GATHER_ROWS_MIN = 1 << 14;

/** The fused Adam step, called once per parameter (no TINY: a bias of 64 floats already gains). */
const ADAM_NATIVE = 64;
/** Wasm's Adam copies four arrays in and three out: from 128 floats. */
const ADAM_WASM = 128;

/**
 * The wasm GEMM splits across its two threads from this many multiply-adds (about 40 µs of one
 * thread's work); below, waking the helper costs more than it saves. Used inside the wasm backend.
 */
export const WASM_GEMM_PARALLEL = 1 << 21;

/** A backend family's least work per kernel; kernels not listed use TINY. */
type Table = Partial<Record<KernelName, number>>;

const FAMILY: Record<string, Table> = {
  native: { adamStep: ADAM_NATIVE, gatherRowsU8: 0, gatherRowsF32: GATHER_ROWS_MIN },
  wasm: { adamStep: ADAM_WASM, gatherRowsU8: 0, gatherRowsF32: GATHER_ROWS_MIN },
};

/**
 * The least work from which `family`'s kernel runs (0 with thresholds off). A backend's family is
 * its name up to the first '-' ('native-avx512-2t' → 'native'); a family not listed (a backend
 * registered by a user) gets TINY everywhere.
 */
export function minWork(kernel: KernelName, family: string, thresholds: boolean): number {
  if (!thresholds) return 0;
  return FAMILY[family]?.[kernel] ?? TINY;
}
