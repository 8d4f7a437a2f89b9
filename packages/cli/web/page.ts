/**
 * The page of `regimes serve`: the runs under the served folder, each with the `plot` figure
 * (its Vega-Lite spec from the server, drawn here by vega-embed: hover for a point's row, click a
 * legend entry to single out a learner — shift-click for more), the summary table, the spec and
 * the provenance; updated when the server's feed says rows arrived. Two or more ticked runs are
 * drawn on one figure. A small spec runs in the page itself (engine.js, loaded on demand).
 */
import embed, { type Result } from 'vega-embed';
import type { RunEntry, RunView } from '../src/serve/views.js';

type Json = Record<string, unknown>;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state = {
  open: [] as string[],
  ticked: new Set<string>(),
  controls: {} as Record<string, string>,
  view: undefined as Result | undefined,
  arrivals: 0,
};

const DEFAULT_SPEC = `# a small spec to run in this page
name: page-quickstart
seed: 0
target: { kind: hermite, d: 8, degree: 2 }
learners:
  - { kind: rf, width: 128, activation: relu, bias: 0.5, ridge: 1.0e-4 }
metrics: [risk]
sweep:
  n: [64, 256]
  seed: [0]
test: { n: 512 }
`;

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function el(tag: string, attrs: Json = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = String(v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v as EventListener);
    else e.setAttribute(k, String(v));
  }
  e.append(...children);
  return e;
}

function table(header: string[], lines: string[][]): HTMLElement {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...header.map((h) => el('th', { text: h })))),
    el('tbody', {}, ...lines.map((l) => el('tr', {}, ...l.map((c) => el('td', { text: c }))))),
  );
}

async function loadRuns(): Promise<void> {
  const { root, runs } = await getJson<{ root: string; runs: RunEntry[] }>('/api/runs');
  $('root').textContent = root;
  const list = $('runs');
  list.replaceChildren(
    ...runs.map((r) => {
      const box = el('input', { type: 'checkbox', 'data-run': r.id }) as HTMLInputElement;
      box.checked = state.ticked.has(r.id);
      box.addEventListener('change', () => {
        if (box.checked) state.ticked.add(r.id);
        else state.ticked.delete(r.id);
        ($('compare') as HTMLButtonElement).disabled = state.ticked.size < 2;
      });
      const link = el('a', {
        text: r.id,
        'data-run': r.id,
        class: state.open.length === 1 && state.open[0] === r.id ? 'open' : '',
        onclick: () => void open([r.id]),
      });
      return el(
        'li',
        {},
        box,
        link,
        el('span', { class: 'meta', text: `${(r.bytes / 1024).toFixed(1)} KiB` }),
      );
    }),
  );
  if (!runs.length)
    list.replaceChildren(el('li', { class: 'hint', text: 'no results.jsonl under this folder yet' }));
}

/** A select of `choices` bound to control `name` (its value kept across refreshes). */
function select(name: string, label: string, choices: string[], fallback: string): HTMLElement {
  const s = el('select', { 'data-control': name }) as HTMLSelectElement;
  for (const c of choices) s.append(el('option', { value: c, text: c || '(none)' }));
  // a control not set yet takes the fallback ('' for "(none)" had set the value undefined: blank)
  const current = state.controls[name] ?? fallback;
  s.value = choices.includes(current) ? current : fallback;
  state.controls[name] = s.value;
  s.addEventListener('change', () => {
    state.controls[name] = s.value;
    void drawFigure();
  });
  return el('label', {}, `${label} `, s);
}

function checkbox(name: string, label: string, initial: boolean): HTMLElement {
  const b = el('input', { type: 'checkbox', 'data-control': name }) as HTMLInputElement;
  b.checked = (state.controls[name] ?? (initial ? '1' : '0')) === '1';
  state.controls[name] = b.checked ? '1' : '0';
  b.addEventListener('change', () => {
    state.controls[name] = b.checked ? '1' : '0';
    void open(state.open, true);
  });
  return el('label', {}, b, ` ${label}`);
}

async function open(ids: string[], keepControls = false): Promise<void> {
  if (!keepControls && ids.join() !== state.open.join()) state.controls = {};
  state.open = ids;
  const views = await Promise.all(
    ids.map((id) => getJson<RunView>(`/api/run?run=${encodeURIComponent(id)}`)),
  );
  const curves = state.controls.curves === '1';
  const keys = [...new Set(views.flatMap((v) => v.keys))];
  const values = [...new Set(views.flatMap((v) => (curves ? v.traceFields : v.values)))];
  const hasTrace = views.some((v) => v.traceFields.length);
  const section = $('view');
  const controls = el(
    'div',
    { class: 'controls' },
    ...(curves ? [] : [select('x', 'x', [...new Set(['n', ...keys])], 'n')]),
    select(
      'y',
      'y',
      values,
      curves
        ? (['test-risk', 'loss'].find((v) => values.includes(v)) ?? values[0] ?? '')
        : values.includes('risk')
          ? 'risk'
          : (values[0] ?? ''),
    ),
    select('facet', 'facet', ['', ...keys], ''),
    select('by', 'lines by', ['learner', ...keys], 'learner'),
    select('band', 'band', ['std', 'sem', 'minmax', 'se', 'none'], 'std'),
    checkbox('theory', 'theory', true),
    checkbox('points', 'seeds', false),
    ...(hasTrace ? [checkbox('curves', 'training curves (trace)', false)] : []),
  );
  const parts: HTMLElement[] = [
    el('h2', { text: ids.length > 1 ? `Compare: ${ids.join(' + ')}` : `${views[0]!.name} — ${ids[0]}` }),
    el('p', {
      class: 'hint',
      id: 'counts',
      text: views.map((v) => `${v.id}: ${v.rows} rows, ${v.ok} ok`).join('; '),
    }),
    controls,
    el('div', { id: 'figure' }),
    el('div', { class: 'warnings', id: 'warnings' }),
  ];
  for (const v of views) {
    if (ids.length > 1) parts.push(el('h2', { text: v.id }));
    parts.push(el('h2', { text: 'Summary' }), table(v.summary.header, v.summary.lines));
    parts.push(
      el('h2', { text: 'Spec' }),
      el('p', { class: 'hint', text: v.spec.source }),
      el('pre', { text: v.spec.text }),
    );
    for (const t of v.provenance) parts.push(el('h2', { text: t.title }), table(t.header, t.lines));
  }
  section.replaceChildren(...parts);
  $('warnings').textContent = views.flatMap((v) => v.warnings).join('\n');
  for (const a of document.querySelectorAll('#runs a'))
    a.classList.toggle('open', ids.length === 1 && a.getAttribute('data-run') === ids[0]);
  await drawFigure();
}

/**
 * A faceted figure's spec with its panels in `columns` columns; where that wraps them, an x axis
 * under each panel (else only the bottom row has one, and a column whose last panel is higher up
 * has none).
 */
function withColumns(spec: Json, columns: number): Json {
  const panels = ((spec.facet as Json | undefined)?.sort as unknown[] | undefined)?.length ?? 0;
  spec.columns = columns;
  const resolve = (spec.resolve ?? {}) as Json;
  if (panels > columns) spec.resolve = { ...resolve, axis: { ...(resolve.axis as Json), x: 'independent' } };
  return spec;
}

/** Make the legend pick series: click one to single it out, shift-click to add; hover shows the row. */
function interactive(spec: Json): Json {
  const config = (spec.config ?? {}) as Json;
  // the encoded fields (series, x, y, the band's ends), not the data's internal ones (kind, slot, …)
  spec.config = { ...config, mark: { ...(config.mark as Json), tooltip: { content: 'encoding' } } };
  const holder = ((spec.spec as Json | undefined) ?? spec) as { layer?: Json[] };
  const layers = holder.layer ?? [];
  // not an errorbar (one x, the bars first): Vega-Lite drops a selection there, and the other
  // layers' references to `pick` then break the whole figure
  const first = layers.find(
    (l) =>
      ((l.encoding as Json | undefined)?.color as Json | undefined)?.field === 'series' &&
      ((l.mark as Json | undefined)?.type ?? l.mark) !== 'errorbar',
  );
  if (!first) return spec;
  first.params = [{ name: 'pick', select: { type: 'point', fields: ['series'] }, bind: 'legend' }];
  for (const l of layers) {
    const enc = l.encoding as Json | undefined;
    if (!enc || !(enc.color || enc.fill)) continue;
    enc.opacity = {
      condition: { param: 'pick', empty: true, value: (l.mark as Json)?.opacity ?? 1 },
      value: 0.06,
    };
  }
  return spec;
}

async function drawFigure(): Promise<void> {
  if (!state.open.length) return;
  const q = new URLSearchParams();
  for (const id of state.open) q.append('run', id);
  for (const [k, v] of Object.entries(state.controls)) if (v !== '') q.set(k, v);
  const figure = await getJson<{ spec: Json | null; notes: string[]; warnings: string[]; used: number }>(
    `/api/figure?${q}`,
  );
  const target = $('figure');
  state.view?.finalize();
  state.view = undefined;
  const warnings = $('warnings');
  const loadWarnings = warnings.getAttribute('data-load') ?? warnings.textContent ?? '';
  warnings.setAttribute('data-load', loadWarnings);
  // the figure's reading of the files repeats the warnings their loading gave: each once
  warnings.textContent = [...new Set([...loadWarnings.split('\n'), ...figure.warnings])]
    .filter(Boolean)
    .join('\n');
  if (!figure.spec) {
    target.replaceChildren(el('p', { class: 'hint', text: 'no figure: no rows to draw yet' }));
    target.setAttribute('data-used', '0');
    return;
  }
  try {
    const draw = async (spec: Json) => {
      state.view?.finalize();
      state.view = await embed(target, interactive(spec) as never, {
        actions: { export: true, source: false, compiled: false, editor: false },
        renderer: 'svg',
      });
    };
    await draw(structuredClone(figure.spec));
    // a grid of panels wider than the page is drawn again with fewer columns, down to one
    // (the figure's own box grows with it: the room is the view's, inside its padding)
    const view = $('view');
    const room = () => view.getBoundingClientRect().right - parseFloat(getComputedStyle(view).paddingRight);
    const drawn = () => target.querySelector('svg.marks')?.getBoundingClientRect().right ?? 0;
    let columns = Number(figure.spec.columns ?? 1);
    while (columns > 1 && drawn() > room()) await draw(withColumns(structuredClone(figure.spec), --columns));
    target.setAttribute('data-columns', String(columns));
  } catch (error) {
    // a figure Vega cannot draw says so in the page, not only in the console
    target.replaceChildren(
      el('p', { class: 'hint', text: `no figure: drawing it failed (${(error as Error).message})` }),
    );
    target.setAttribute('data-used', '0');
    return;
  }
  target.setAttribute('data-used', String(figure.used));
}

function connect(): void {
  const live = $('live');
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    live.textContent = '● live';
    live.classList.add('on');
  });
  source.addEventListener('error', () => {
    live.textContent = '● reconnecting';
    live.classList.remove('on');
  });
  source.addEventListener('runs', () => void loadRuns());
  source.addEventListener('rows', (e) => {
    const data = JSON.parse((e as MessageEvent).data as string) as {
      run: string;
      rows: string[];
      skipped: { line: number; reason: string }[];
    };
    state.arrivals += data.rows.length;
    live.textContent = `● live: ${data.rows.length} row(s) arrived in ${data.run}${data.skipped.length ? `, ${data.skipped.length} line(s) skipped (line ${data.skipped.map((s) => `${s.line}: ${s.reason}`).join('; ')})` : ''}`;
    live.setAttribute('data-arrivals', String(state.arrivals));
    void loadRuns();
    if (state.open.includes(data.run)) void open(state.open, true);
  });
}

interface PageRunResult {
  backend: string;
  fallback?: string;
  adapter?: string;
  estimate: { gflop: number; mib: number; rows: number; text: string };
  rows: { key: string; status: string; metrics: Record<string, number>; error?: string }[];
  seconds: number;
}

async function runInPage(): Promise<void> {
  const out = $('page-run');
  const text = ($('spec-input') as HTMLTextAreaElement).value;
  const backend = ($('page-backend') as HTMLSelectElement).value as 'auto' | 'wasm' | 'webgpu';
  out.replaceChildren(el('p', { text: 'loading the engine…' }));
  out.removeAttribute('data-state');
  try {
    const engine = (await import(/* webpackIgnore: true */ '/assets/engine.js' as string)) as {
      runInPage(t: string, o: object): Promise<PageRunResult>;
    };
    const result = await engine.runInPage(text, {
      backend,
      onRow: (_row: unknown, done: number, total: number) => {
        out.replaceChildren(el('p', { text: `running: ${done}/${total} fits` }));
      },
    });
    const used = `ran on ${result.backend}${result.adapter ? ` (${result.adapter})` : ''}${result.fallback ? ` — not webgpu: ${result.fallback}` : ''}, ${result.seconds.toFixed(1)} s, estimate ${result.estimate.gflop.toPrecision(3)} GFLOP`;
    const metrics = [...new Set(result.rows.flatMap((r) => Object.keys(r.metrics)))];
    const t = table(
      ['row', 'status', ...metrics],
      result.rows.map((r) => [
        r.key,
        r.status + (r.error ? `: ${r.error}` : ''),
        ...metrics.map((m) => (r.metrics[m] === undefined ? '' : String(r.metrics[m]))),
      ]),
    );
    t.id = 'page-rows';
    out.replaceChildren(
      el('p', { class: 'used', id: 'page-backend-used', 'data-backend': result.backend, text: used }),
      t,
    );
    out.setAttribute(
      'data-rows',
      JSON.stringify(result.rows.map((r) => ({ key: r.key, status: r.status, metrics: r.metrics }))),
    );
    out.setAttribute('data-state', 'done');
  } catch (error) {
    const e = error as Error & { estimate?: { text: string } };
    out.replaceChildren(
      el('p', { class: 'error', text: e.message }),
      ...(e.estimate ? [el('pre', { text: e.estimate.text })] : []),
    );
    out.setAttribute('data-state', 'error');
  }
}

($('spec-input') as HTMLTextAreaElement).value = DEFAULT_SPEC;
$('run-page').addEventListener('click', () => void runInPage());
$('compare').addEventListener('click', () => void open([...state.ticked]));
// a request that fails where nothing awaits it (a run folder deleted while open: its controls' 404)
// says so in the page, not only in the console
window.addEventListener('unhandledrejection', (e) => {
  const reason = e.reason as { message?: string } | undefined;
  $('warnings').textContent = `could not load: ${reason?.message ?? String(e.reason)}`;
});
connect();
void loadRuns().then(() => {
  const first = document.querySelector<HTMLElement>('#runs a');
  if (first && !state.open.length) void open([first.getAttribute('data-run')!]);
});
