/**
 * Whether operations record the graph. A global flag, as in PyTorch: JavaScript runs one
 * computation at a time per thread, and `noGrad` restores the previous mode even on throw.
 */
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

export function setGradEnabled(mode: boolean): boolean {
  const previous = enabled;
  enabled = mode;
  return previous;
}

function withMode<T>(mode: boolean, fn: () => T): T {
  const previous = setGradEnabled(mode);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TypeError('noGrad/enableGrad take a synchronous function; await inside them would leak the grad mode');
    }
    return result;
  } finally {
    setGradEnabled(previous);
  }
}

/** Run fn without recording a graph (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  return withMode(false, fn);
}

/** Run fn with recording on, even inside a noGrad scope. */
export function enableGrad<T>(fn: () => T): T {
  return withMode(true, fn);
}
