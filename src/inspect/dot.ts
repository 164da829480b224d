/**
 * Graphviz DOT for the recorded graph of a tensor: micrograd's draw_dot for tensors. Values
 * flow along blue arrows; gradients flow back along dashed vermillion ones; a node that feeds
 * several consumers says that its gradient is the sum over those paths.
 */
import type { Tensor } from '../tensor/tensor.js';
import { describeGraph, type GraphNode, type GraphOptions } from './graph.js';

export interface ToDotOptions extends GraphOptions {
  /** Print values (and gradients, when present) of tensors with at most `maxValues` elements. Default true. */
  showValues?: boolean;
  /** Default 6. */
  maxValues?: number;
  /** Also draw the gradient-flow edges (consumer → producer). Default true. */
  gradientEdges?: boolean;
  /** Default 'LR' (inputs left, loss right). */
  rankdir?: 'LR' | 'RL' | 'TB' | 'BT';
  title?: string;
  /** Default true. */
  legend?: boolean;
}

export const FORWARD_COLOUR = '#0072B2';
export const GRADIENT_COLOUR = '#D55E00';

/** `MatmulBackward` → `matmul`: the op as the user wrote it. */
export function opOf(gradFnName: string): string {
  const base = gradFnName.replace(/Backward\d*$/, '');
  return base.charAt(0).toLowerCase() + base.slice(1);
}

function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** 4 significant digits; one style per tensor, so a row never mixes 6.05e-4 with 0.00121. */
function numberFormat(values: number[]): (v: number) => string {
  const mags = values.filter((v) => v !== 0 && Number.isFinite(v)).map(Math.abs);
  const exp = mags.length > 0 && (Math.min(...mags) < 1e-3 || Math.max(...mags) >= 1e4);
  return (v) => (v === 0 ? '0' : exp ? v.toExponential(2) : String(Number(v.toPrecision(4))));
}

/** `[0.3775, 0.3925]`, rows bracketed for 2-D. */
export function fmtValues(t: Tensor): string {
  const v = t.tolist();
  const num = numberFormat(v);
  if (t.shape.length === 0) return num(v[0]!);
  if (t.shape.length === 2 && t.shape[0]! > 1) {
    const c = t.shape[1]!;
    const rows: string[] = [];
    for (let i = 0; i < t.shape[0]!; i++) rows.push(`[${v.slice(i * c, (i + 1) * c).map(num).join(', ')}]`);
    return `[${rows.join(', ')}]`;
  }
  return `[${v.map(num).join(', ')}]`;
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

function label(n: GraphNode, o: ToDotOptions): string {
  const rows: string[] = [];
  const small = (t: Tensor | null): t is Tensor => t !== null && t.numel() <= (o.maxValues ?? 6);
  const kindText = n.kind === 'op' ? n.op : n.kind === 'parameter' ? 'parameter' : n.kind === 'leaf' ? 'leaf, requires grad' : 'input, no gradient';
  const head = n.kind === 'op' ? (n.label ? `${n.label} = ${opOf(n.op)}` : opOf(n.op)) : (n.label ?? (n.kind === 'constant' ? 'constant' : 'leaf'));
  rows.push(`<B>${html(head)}</B>`);
  rows.push(`<FONT POINT-SIZE="10" COLOR="#555555">${html(kindText)}${n.shape ? ` · ${html(shapeText(n.shape))}` : ''}</FONT>`);
  if (o.showValues !== false && small(n.tensor)) {
    rows.push(`<FONT POINT-SIZE="11">value ${html(fmtValues(n.tensor))}</FONT>`);
    if (n.tensor.grad && small(n.tensor.grad)) rows.push(`<FONT POINT-SIZE="11" COLOR="${GRADIENT_COLOUR}">grad ${html(fmtValues(n.tensor.grad))}</FONT>`);
  }
  if (n.consumers >= 2) rows.push(`<FONT POINT-SIZE="10" COLOR="${GRADIENT_COLOUR}"><B>∑ of ${n.consumers} paths</B> (gradients add)</FONT>`);
  return `<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">${rows.map((r) => `<TR><TD>${r}</TD></TR>`).join('')}</TABLE>>`;
}

const STYLE: Record<GraphNode['kind'], string> = {
  op: 'shape=box, style="rounded,filled", fillcolor="#eef4fb", color="#7a9cc6"',
  parameter: 'shape=box, style="filled", fillcolor="#fff1c9", color="#c9a227"',
  leaf: 'shape=box, style="filled", fillcolor="#e8f5ee", color="#3c9a6e"',
  constant: 'shape=box, style="rounded,dashed", color="#9a9a9a", fontcolor="#555555"',
};

function legendLabel(title: string | undefined, gradientEdges: boolean, nodes: GraphNode[]): string {
  const row = (sym: string, colour: string, what: string) =>
    `<TR><TD ALIGN="RIGHT"><FONT COLOR="${colour}"><B>${sym}</B></FONT></TD><TD ALIGN="LEFT">${html(what)}</TD></TR>`;
  const rows = [
    title ? `<TR><TD COLSPAN="2"><B>${html(title)}</B></TD></TR>` : '',
    row('───▶', FORWARD_COLOUR, 'forward: value flows into the op'),
    gradientEdges ? row('- - -▶', GRADIENT_COLOUR, 'backward: gradient flows back to the input') : '',
    nodes.some((n) => n.consumers >= 2) ? row('∑', GRADIENT_COLOUR, 'used by several ops: its gradient is the sum over the paths') : '',
    swatch('#fff1c9', 'parameter (named by module path)', nodes.some((n) => n.kind === 'parameter')),
    swatch('#e8f5ee', 'leaf tensor that requires grad', nodes.some((n) => n.kind === 'leaf')),
  ];
  return `<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="2">${rows.join('')}</TABLE>>`;
}

function swatch(colour: string, what: string, present: boolean): string {
  return present ? `<TR><TD BGCOLOR="${colour}">    </TD><TD ALIGN="LEFT">${html(what)}</TD></TR>` : '';
}

/** DOT for the recorded graph of `tensor` (usually a loss). */
export function toDot(tensor: Tensor, options: ToDotOptions = {}): string {
  const g = describeGraph(tensor, options);
  const gradientEdges = options.gradientEdges !== false;
  const lines: string[] = [
    'digraph chainrule {',
    `  graph [rankdir=${options.rankdir ?? 'LR'}, fontname="Helvetica", nodesep=0.35, ranksep=0.5, bgcolor="white", pad=0.3];`,
    '  node [fontname="Helvetica", fontsize=12, margin="0.12,0.06"];',
    '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
  ];
  if (options.legend !== false) lines.push(`  graph [labelloc=b, labeljust=l, label=${legendLabel(options.title, gradientEdges, g.nodes)}];`);
  for (const n of g.nodes) {
    const extra = n.isRoot ? ', penwidth=2.2' : n.consumers >= 2 ? ', penwidth=1.6' : '';
    lines.push(`  ${n.id} [class="${n.kind}", label=${label(n, options)}, ${STYLE[n.kind]}${extra}];`);
  }
  for (const e of g.edges) {
    lines.push(`  ${e.from} -> ${e.to} [class="forward", color="${FORWARD_COLOUR}", penwidth=1.4, tooltip="input ${e.input}"];`);
  }
  if (gradientEdges) {
    // constraint=false: the layout follows the forward edges; the gradient edges ride on it.
    for (const e of g.edges) {
      if (g.nodes.find((n) => n.id === e.from)?.kind === 'constant') continue; // constants get no gradient
      lines.push(`  ${e.to} -> ${e.from} [class="gradient", color="${GRADIENT_COLOUR}", style=dashed, constraint=false, arrowsize=0.6];`);
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Renders DOT to SVG with a WebAssembly Graphviz, loaded on first use only (the core never pulls it in). */
export async function toSvg(dot: string): Promise<string> {
  const { renderDotToSvg } = await import('./render-svg.js');
  return renderDotToSvg(dot);
}
