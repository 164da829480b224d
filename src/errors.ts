/**
 * Errors that name the operation and the shapes or values involved. Every message starts
 * with the op's name, so a user can find the failing line from the message alone.
 */
export class ChainruleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the operation. */
export class ShapeError extends ChainruleError {}

/** A dtype the operation cannot take, or two that it refuses to mix. */
export class DTypeError extends ChainruleError {}

/** A dim or an index outside its valid range. */
export class IndexError extends ChainruleError {}

/** Autograd used in a way that cannot give a correct gradient. */
export class AutogradError extends ChainruleError {}

/** An option or argument with a value the operation cannot take. */
export class ValueError extends ChainruleError {}

/** A tensor too large to allocate (the message says how many bytes it would need). */
export class AllocationError extends ChainruleError {}

/** An op name that the op table (ops/registry.ts) does not hold. */
export class OpError extends ChainruleError {}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** A tensor is on the wrong device for what was asked (two devices in one op, a sync read of GPU memory). */
export class DeviceError extends ChainruleError {}

/** What an AnomalyError found: the op, in which pass, its input shapes and the caller's line. */
export interface AnomalyInfo {
  op: string;
  phase: 'forward' | 'backward';
  inputShapes: (readonly number[])[];
  /** The first frame of the stack outside chainrule ("file:line:col"), where the op was called; null if unknown. */
  source: string | null;
}

/** Anomaly mode (detectAnomaly) found an op whose forward or backward made a NaN or an infinity. */
export class AnomalyError extends ChainruleError {
  readonly op: string;
  readonly phase: 'forward' | 'backward';
  readonly inputShapes: (readonly number[])[];
  readonly source: string | null;
  constructor(message: string, info: AnomalyInfo) {
    super(message);
    this.op = info.op;
    this.phase = info.phase;
    this.inputShapes = info.inputShapes;
    this.source = info.source;
  }
}
