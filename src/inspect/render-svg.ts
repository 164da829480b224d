/**
 * DOT → SVG with @hpcc-js/wasm-graphviz (Graphviz compiled to WebAssembly): no system binary,
 * the same output in Node and in a browser. Kept in its own module and imported lazily by
 * toSvg(), so loading chainrule never loads the wasm.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';

let graphviz: Promise<Graphviz> | null = null;

export async function renderDotToSvg(dot: string): Promise<string> {
  graphviz ??= Graphviz.load();
  return (await graphviz).dot(dot, 'svg');
}
