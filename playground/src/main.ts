/**
 * The page: settings (kept in the URL), the transport buttons, and drawing what the training
 * worker sends. No training happens here.
 */
import type { ExplainResult } from 'chainrule/inspect';
import { makeDataset } from './datasets.js';
import { drawBoundary, drawCurves, drawGradientBars, drawUnits, COLOURS, type PointSet } from './draw.js';
import type { Frame, FromWorker, ToWorker } from './protocol.js';
import { DATASETS, LOSSES, LOSS_LABELS, fromQuery, layerSizes, parseHidden, toQuery, type Settings } from './settings.js';
import { renderTrace } from './trace.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

let settings: Settings = fromQuery(location.search);
let playing = false;
let train: PointSet | null = null;
let test: PointSet | null = null;
let lastFrame: Frame | null = null;
let explained: ExplainResult | null = null;
const curve = { step: [] as number[], trainLoss: [] as number[], testLoss: [] as number[], trainAcc: [] as number[], testAcc: [] as number[] };
const MAX_POINTS = 600;

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker) => worker.postMessage(m);

// ---- settings <-> controls ------------------------------------------------------------

const NAMES: Record<string, string> = { xor: 'xor', spirals: 'spirals', moons: 'moons', circles: 'circles', blobs: 'blobs' };

function buildDatasetButtons(): void {
  const host = $('datasets');
  for (const d of DATASETS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('role', 'radio');
    b.dataset.dataset = d;
    b.title = `${NAMES[d]} dataset`;
    const c = document.createElement('canvas');
    c.width = 48;
    c.height = 48;
    const g = c.getContext('2d')!;
    const s = makeDataset(d, 160, 0.02, 1, 3).train;
    g.fillStyle = '#fafafa';
    g.fillRect(0, 0, 48, 48);
    for (let i = 0; i < s.label.length; i++) {
      g.fillStyle = `rgb(${(s.label[i] ? COLOURS.one : COLOURS.zero).join(',')})`;
      g.fillRect(24 + s.xy[2 * i]! * 20 - 1, 24 - s.xy[2 * i + 1]! * 20 - 1, 2.4, 2.4);
    }
    b.append(c, document.createTextNode(NAMES[d]!));
    b.addEventListener('click', () => change({ dataset: d }));
    host.append(b);
  }
  const loss = $<HTMLSelectElement>('loss');
  for (const l of LOSSES) loss.add(new Option(LOSS_LABELS[l], l));
}

function showSettings(): void {
  for (const b of $('datasets').querySelectorAll('button')) b.setAttribute('aria-checked', String(b.dataset.dataset === settings.dataset));
  const set = (id: string, v: string) => {
    const e = $<HTMLInputElement | HTMLSelectElement>(id);
    if (e instanceof HTMLSelectElement && ![...e.options].some((o) => o.value === v)) e.add(new Option(v, v));
    e.value = v;
  };
  set('noise', String(settings.noise));
  $('noiseOut').textContent = settings.noise.toFixed(2);
  set('train', String(settings.trainShare));
  $('trainOut').textContent = `${Math.round(settings.trainShare * 100)}%`;
  set('points', String(settings.points));
  set('seed', String(settings.seed));
  const hidden = $<HTMLInputElement>('hidden');
  if (document.activeElement !== hidden) hidden.value = settings.hidden.join(',') || '0';
  hidden.classList.remove('invalid');
  set('act', settings.activation);
  set('loss', settings.loss);
  set('opt', settings.optimizer);
  set('lr', String(settings.lr));
  set('batch', String(settings.batchSize));
  set('l2', String(settings.l2));
  set('dropout', String(settings.dropout));
  $('arch').textContent = `network ${layerSizes(settings).join('-')}, ${settings.activation}${settings.dropout ? `, dropout ${settings.dropout}` : ''}`;
}

/** Applies a change: URL, controls, and a fresh start in the worker. */
function change(patch: Partial<Settings>): void {
  settings = fromQuery(toQuery({ ...settings, ...patch }));
  history.replaceState(null, '', `${location.pathname}?${toQuery(settings)}${location.hash}`);
  showSettings();
  reset();
}

function reset(): void {
  setPlaying(false);
  for (const k of Object.keys(curve) as (keyof typeof curve)[]) curve[k] = [];
  explained = null;
  $('graph').replaceChildren();
  $('trace').replaceChildren();
  $('traceNotes').replaceChildren();
  $('graphInfo').textContent = '';
  send({ type: 'reset', settings });
}

function wireControls(): void {
  const on = (id: string, f: (v: string) => Partial<Settings> | null, ev = 'change') =>
    $(id).addEventListener(ev, (e) => {
      const p = f((e.target as HTMLInputElement).value);
      if (p) change(p);
    });
  on('noise', (v) => ({ noise: Number(v) }));
  $('noise').addEventListener('input', (e) => ($('noiseOut').textContent = Number((e.target as HTMLInputElement).value).toFixed(2)));
  on('train', (v) => ({ trainShare: Number(v) }));
  $('train').addEventListener('input', (e) => ($('trainOut').textContent = `${Math.round(Number((e.target as HTMLInputElement).value) * 100)}%`));
  on('points', (v) => ({ points: Number(v) }));
  on('seed', (v) => ({ seed: Number(v) }));
  on('hidden', (v) => {
    const h = parseHidden(v, []);
    const ok = v.trim() === '0' || v.trim() === '' || h.length > 0;
    $('hidden').classList.toggle('invalid', !ok);
    return ok ? { hidden: h } : null;
  });
  $('addLayer').addEventListener('click', () => settings.hidden.length < 6 && change({ hidden: [...settings.hidden, settings.hidden[settings.hidden.length - 1] ?? 8] }));
  $('removeLayer').addEventListener('click', () => settings.hidden.length > 0 && change({ hidden: settings.hidden.slice(0, -1) }));
  on('act', (v) => ({ activation: v as Settings['activation'] }));
  on('loss', (v) => ({ loss: v as Settings['loss'] }));
  on('opt', (v) => ({ optimizer: v as Settings['optimizer'] }));
  on('lr', (v) => ({ lr: Number(v) }));
  on('batch', (v) => ({ batchSize: Number(v) }));
  on('l2', (v) => ({ l2: Number(v) }));
  on('dropout', (v) => ({ dropout: Number(v) }));
  $('showTest').addEventListener('change', () => lastFrame && drawFrame(lastFrame));
  $('play').addEventListener('click', () => setPlaying(!playing));
  $('step').addEventListener('click', () => {
    setPlaying(false);
    $('inspectHint').textContent = 'running one step…';
    send({ type: 'step' });
  });
  $('reset').addEventListener('click', reset);
  $('traceLayer').addEventListener('change', showTrace);
  $('graph').addEventListener('click', () => $('graph').classList.toggle('fit'));
  document.addEventListener('keydown', (e) => {
    if (e.key === ' ' && !(e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLButtonElement)) {
      e.preventDefault();
      setPlaying(!playing);
    }
  });
  window.addEventListener('resize', () => lastFrame && drawFrame(lastFrame));
}

function setPlaying(p: boolean): void {
  playing = p;
  $('play').textContent = p ? '⏸ Pause' : '▶ Play';
  send({ type: p ? 'play' : 'pause' });
  if (!p) $('rate').textContent = 'paused';
}

// ---- drawing ----------------------------------------------------------------------------

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

function record(f: Frame): void {
  const last = curve.step[curve.step.length - 1];
  if (last !== undefined && f.step <= last) return;
  curve.step.push(f.step);
  curve.trainLoss.push(f.trainLoss);
  curve.testLoss.push(f.testLoss);
  curve.trainAcc.push(f.trainAcc);
  curve.testAcc.push(f.testAcc);
  if (curve.step.length > MAX_POINTS) {
    // Keep every other point of the older half: the whole run stays visible at a bounded cost.
    for (const k of Object.keys(curve) as (keyof typeof curve)[]) {
      const a = curve[k];
      const half = Math.floor(a.length / 2);
      curve[k] = [...a.slice(0, half).filter((_, i) => i % 2 === 0), ...a.slice(half)];
    }
  }
}

function drawFrame(f: Frame): void {
  drawBoundary($<HTMLCanvasElement>('boundary'), f.boundary, train, test, $<HTMLInputElement>('showTest').checked);
  drawUnits($('units'), f.units);
  if (!f.units.length) $('units').innerHTML = '<p class="muted">No hidden layer: the model is logistic regression, one straight boundary.</p>';
  const xs = curve.step;
  drawCurves($<HTMLCanvasElement>('lossChart'), 'loss', [
    { name: 'train', colour: COLOURS.delta, xs, ys: curve.trainLoss },
    { name: 'test', colour: COLOURS.warn, dashed: true, xs, ys: curve.testLoss },
  ], null);
  drawCurves($<HTMLCanvasElement>('accChart'), 'accuracy', [
    { name: 'train', colour: COLOURS.delta, xs, ys: curve.trainAcc },
    { name: 'test', colour: COLOURS.warn, dashed: true, xs, ys: curve.testAcc },
  ], [0, 1]);
  drawGradientBars($<HTMLCanvasElement>('gradChart'), f.grad);
  const w = $('warnings');
  w.replaceChildren();
  if (f.step === 0) {
    w.innerHTML = '<li class="ok">no step yet</li>';
  } else if (!f.grad.warnings.length) {
    w.innerHTML = '<li class="ok">no warnings: no vanishing, exploding or dead layers at this step</li>';
  } else {
    for (const x of f.grad.warnings) {
      const li = document.createElement('li');
      li.dataset.kind = x.kind;
      li.textContent = `⚠ ${x.message}`;
      w.append(li);
    }
  }
  $('stepCount').textContent = String(f.step);
  $('epochCount').textContent = String(f.epoch);
  $('trainLoss').textContent = f.trainLoss.toFixed(4);
  $('testLoss').textContent = f.testLoss.toFixed(4);
  $('trainAcc').textContent = pct(f.trainAcc);
  $('testAcc').textContent = pct(f.testAcc);
  if (playing && f.stepsPerSecond > 0) $('rate').textContent = `${Math.round(f.stepsPerSecond).toLocaleString('en')} steps/s`;
}

let pending: Frame | null = null;
function scheduleDraw(f: Frame): void {
  const first = pending === null;
  pending = f;
  if (first) {
    requestAnimationFrame(() => {
      const p = pending!;
      pending = null;
      lastFrame = p;
      drawFrame(p);
    });
  }
}

function showTrace(): void {
  const host = $('trace');
  if (!explained) return;
  const l = Number($<HTMLSelectElement>('traceLayer').value) || explained.layers.length;
  renderTrace(host, explained, Math.min(l, explained.layers.length));
}

function showInspect(m: Extract<FromWorker, { type: 'inspect' }>): void {
  $('inspectHint').textContent = `Step ${m.step}: the graph and the equations of the batch this step trained on.`;
  const graph = $('graph');
  if (m.svg) {
    graph.innerHTML = m.svg;
    const svg = graph.querySelector('svg');
    // Fitted to the panel's width at first; a click shows it at its own size (scroll to pan).
    svg?.removeAttribute('height');
    graph.classList.add('fit');
    $('graphInfo').textContent = '(values and gradients on tensors of ≤ 16 numbers; click the graph to zoom)';
  } else {
    graph.textContent = `The graph could not be drawn: ${m.svgError}`;
  }
  const notes = $('traceNotes');
  notes.replaceChildren(...m.notes.map((n) => Object.assign(document.createElement('li'), { textContent: n })));
  explained = m.explain;
  const sel = $<HTMLSelectElement>('traceLayer');
  if (explained) {
    const keep = sel.value;
    sel.replaceChildren(...explained.layers.map((l) => new Option(`${l.index}${l.index === explained!.layers.length ? ' (output)' : ''}`, String(l.index))));
    sel.value = [...sel.options].some((o) => o.value === keep) ? keep : String(explained.layers.length);
    showTrace();
  } else {
    $('trace').textContent = m.explainError ?? 'No trace.';
  }
}

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case 'backend': {
      const status = $('status');
      const threads = m.threads > 1 ? `${m.threads} threads` : 'one thread';
      status.dataset.backend = m.name;
      status.dataset.isolated = String(m.isolated);
      if (m.name === 'reference') {
        status.textContent = 'WebAssembly SIMD is not available here: training runs on the plain JavaScript kernels (slower).';
        status.classList.add('warn');
      } else if (!m.isolated) {
        status.textContent = `backend ${m.name} (${threads}). This page is not cross-origin isolated (the server sent no COOP/COEP headers), so there is no SharedArrayBuffer and the wasm backend runs single-threaded.`;
        status.classList.add('warn');
      } else {
        status.textContent = `backend ${m.name}: WebAssembly SIMD, ${threads}, cross-origin isolated; training in a Web Worker.`;
      }
      break;
    }
    case 'data':
      train = { xy: m.trainXY, label: m.trainLabel };
      test = { xy: m.testXY, label: m.testLabel };
      break;
    case 'frame':
      record(m);
      scheduleDraw(m);
      break;
    case 'inspect':
      showInspect(m);
      break;
    case 'error':
      setPlaying(false);
      $('status').textContent = `error: ${m.message}`;
      $('status').classList.add('warn');
      console.error(`chainrule playground: ${m.message}`);
      break;
  }
};
worker.onerror = (e) => {
  $('status').textContent = `the training worker failed: ${e.message}`;
  $('status').classList.add('warn');
};

buildDatasetButtons();
wireControls();
showSettings();
history.replaceState(null, '', `${location.pathname}?${toQuery(settings)}${location.hash}`);
reset();
