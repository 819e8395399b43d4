// memdiag's report page. The same code runs in two modes:
// - report: the view is embedded as JSON in the #data element, nothing is fetched;
// - web: the view comes from the server's /api/view, which applies the
//   controls (sample type, focus, ignore, base) and sends an aggregated tree.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const ROW = 18; // flame row height in px
  // Frames narrower than this fraction of the zoomed frame are not drawn:
  // they would be under a pixel wide, and drawing them costs DOM nodes.
  const MIN_DRAWN = 1 / 5000;

  let view = null; // the JSON view being shown
  let tree = null; // the flame tree with layout (see layoutTree)
  let zoom = 0; // index of the frame spanning the full width
  const web = !$('data');
  const params = {}; // web: the controls' values sent to the server

  // ---- formatting ----

  function fmtBytes(v) {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let x = Math.abs(v);
    let u = 0;
    while (x >= 1024 && u < units.length - 1) {
      x /= 1024;
      u++;
    }
    const s = u === 0 ? String(x) : x.toFixed(x < 10 ? 2 : 1);
    return (v < 0 ? '-' : '') + s + units[u];
  }

  function fmtValue(v) {
    const unit = view ? view.summary.unit : '';
    if (unit === 'bytes') return fmtBytes(v);
    if (unit === 'nanoseconds') return (v / 1e9).toFixed(2) + 's';
    return v.toLocaleString('en-US');
  }

  function pct(v, total) {
    return total ? ((100 * v) / total).toFixed(1) + '%' : '-';
  }

  function fmtSecs(s) {
    if (s < 60) return (Math.round(s * 10) / 10) + 's';
    const m = Math.floor(s / 60);
    const r = Math.round(s - m * 60);
    return m < 60 ? m + 'm' + r + 's' : Math.floor(m / 60) + 'h' + (m % 60) + 'm';
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- summary ----

  function renderSummary() {
    const s = view.summary;
    const box = $('summary');
    box.textContent = '';
    $('title').textContent = s.source;
    const dl = el('dl');
    const row = (k, v) => {
      dl.append(el('dt', {}, k));
      const dd = el('dd');
      if (v instanceof Node) dd.append(v);
      else dd.textContent = v;
      dl.append(dd);
    };
    const types = el('span');
    s.sample_types.forEach((t, i) => {
      if (i) types.append(', ');
      types.append(el('span', i === s.sample_index ? { class: 'chosen' } : {}, t.type + '/' + t.unit));
    });
    row('Sample types', types);
    row('Showing', s.sample_type + (s.diff ? ' (difference with ' + s.base + ')' : ''));
    row('Total', s.total_formatted);
    row('Samples', s.samples.toLocaleString('en-US'));
    if (s.period) row('Period', s.period.toLocaleString('en-US') + ' ' + s.period_type);
    if (s.time_nanos) row('Time', new Date(s.time_nanos / 1e6).toISOString());
    if (s.duration_nanos) row('Duration', fmtSecs(s.duration_nanos / 1e9));
    if (s.filters.length) row('Filters', s.filters.join(' '));
    box.append(dl);

    if (s.memory) {
      // The collector's comment: resident set size vs the sampled heap.
      const m = s.memory;
      const mem = el('dl');
      const add = (k, v) => {
        mem.append(el('dt', {}, k));
        mem.append(el('dd', {}, v));
      };
      add('RSS', fmtBytes(m.rss));
      add('Heap in use (est.)', fmtBytes(m.heap_inuse) + ' (' + pct(m.heap_inuse, m.rss) + ' of RSS)');
      add('Heap peak (est.)', fmtBytes(m.heap_peak));
      add('RSS − heap', fmtBytes(m.rss_minus_heap));
      const bar = el('div', { class: 'membar', title: 'heap in use / RSS' });
      const fill = el('span');
      fill.style.width = Math.min(100, m.rss ? (100 * m.heap_inuse) / m.rss : 0) + '%';
      bar.append(fill);
      mem.append(el('dt', {}, 'Heap / RSS'));
      const dd = el('dd');
      dd.append(bar);
      mem.append(dd);
      box.append(mem);
    }
    if (s.header.length || s.comments.length) {
      const d = el('details');
      d.append(el('summary', {}, 'Profile header'));
      d.append(el('pre', {}, s.header.concat(s.comments).join('\n')));
      box.append(d);
    }
  }

  // ---- flame graph ----

  // From the pre-order columns (depth, value, base) to each frame's parent,
  // subtree end and horizontal offset within its parent (in value units).
  function layoutTree(f) {
    const n = f.value.length;
    const parent = new Int32Array(n);
    const end = new Int32Array(n);
    const start = new Float64Array(n);
    const next = new Float64Array(n);
    const stack = [];
    for (let i = 0; i < n; i++) {
      const d = f.depth[i];
      while (stack.length > d) end[stack.pop()] = i;
      const p = stack.length ? stack[stack.length - 1] : -1;
      parent[i] = p;
      start[i] = p < 0 ? 0 : next[p];
      if (p >= 0) next[p] += Math.max(0, f.value[i]);
      next[i] = start[i];
      stack.push(i);
    }
    while (stack.length) end[stack.pop()] = n;
    return { f, n, parent, end, start, matched: new Uint8Array(n) };
  }

  function frameColor(i) {
    const f = tree.f;
    if (f.base) {
      // Diff: red for growth, blue for shrink, stronger for a larger change.
      const v = f.value[i];
      const b = f.base[i];
      const big = Math.max(Math.abs(v), Math.abs(b));
      if (!big || v === b) return '#dcdcdc';
      const r = Math.min(1, Math.abs(v - b) / big);
      const light = 88 - 38 * r;
      return v > b ? 'hsl(0,75%,' + light + '%)' : 'hsl(215,75%,' + light + '%)';
    }
    // Warm colours keyed by name, so a function keeps its colour everywhere.
    const name = f.names[f.name[i]];
    let h = 0;
    for (let k = 0; k < name.length; k++) h = (h * 31 + name.charCodeAt(k)) | 0;
    h = Math.abs(h);
    return 'hsl(' + (h % 50) + ',' + (60 + (h >> 8) % 30) + '%,' + (60 + (h >> 16) % 15) + '%)';
  }

  function renderFlame() {
    const box = $('flame');
    const f = tree.f;
    const frag = document.createDocumentFragment();
    const zs = tree.start[zoom];
    const zv = Math.max(1, f.value[zoom]);
    let maxDepth = 0;
    const add = (i, left, width, cls) => {
      const d = el('div', {
        class: cls,
        'data-name': f.names[f.name[i]],
        'data-value': String(f.value[i]),
        'data-i': String(i),
      }, f.names[f.name[i]]);
      d.style.left = left + '%';
      d.style.width = width + '%';
      d.style.top = f.depth[i] * ROW + 'px';
      d.style.background = frameColor(i);
      if (tree.matched[i]) d.classList.add('match');
      frag.append(d);
      maxDepth = Math.max(maxDepth, f.depth[i]);
    };
    // The zoomed frame's ancestors span the full width, as in pprof.
    for (let a = tree.parent[zoom]; a >= 0; a = tree.parent[a]) add(a, 0, 100, 'frame ancestor');
    for (let i = zoom; i < tree.end[zoom]; ) {
      const v = f.value[i];
      if (v <= 0 || v < zv * MIN_DRAWN) {
        i = tree.end[i]; // children are never larger than their parent
        continue;
      }
      add(i, (100 * (tree.start[i] - zs)) / zv, (100 * v) / zv, 'frame');
      i++;
    }
    box.textContent = '';
    box.style.height = (maxDepth + 1) * ROW + 'px';
    box.append(frag);
  }

  function zoomTo(i) {
    zoom = i;
    renderFlame();
  }

  function showFrameInfo(i) {
    const f = tree.f;
    const total = f.value[0];
    let s = f.names[f.name[i]] + ' — ' + fmtValue(f.value[i]) + ' (' + pct(f.value[i], total) + ' of total';
    if (zoom !== 0) s += ', ' + pct(f.value[i], f.value[zoom]) + ' of zoom';
    s += ')';
    if (f.base) {
      const d = f.value[i] - f.base[i];
      s += ', base ' + fmtValue(f.base[i]) + ', ' + (d >= 0 ? '+' : '') + fmtValue(d);
    }
    $('flame-info').textContent = s;
  }

  // A regular expression when the text is one, else a plain substring.
  function matcher(q) {
    try {
      const re = new RegExp(q);
      return (s) => re.test(s);
    } catch (e) {
      return (s) => s.includes(q);
    }
  }

  function applySearch() {
    const q = $('search').value;
    const f = tree.f;
    tree.matched.fill(0);
    if (q) {
      const test = matcher(q);
      const nameHit = f.names.map(test);
      for (let i = 0; i < tree.n; i++) tree.matched[i] = nameHit[f.name[i]] ? 1 : 0;
    }
    let count = 0;
    let sum = 0;
    // The matched share counts each sample once: a matched frame's matched
    // descendants are already inside its value.
    for (let i = 0; i < tree.n; i++) if (tree.matched[i]) count++;
    for (let i = 0; i < tree.n; ) {
      if (tree.matched[i]) {
        sum += Math.max(0, f.value[i]);
        i = tree.end[i];
      } else i++;
    }
    for (const d of $('flame').querySelectorAll('.frame')) {
      d.classList.toggle('match', tree.matched[+d.dataset.i] === 1);
    }
    $('search-status').textContent = q
      ? count + ' frames, ' + pct(sum, f.value[0]) + ' of total'
      : '';
  }

  // ---- top table ----

  let sortKey = null;
  let sortDesc = true;

  function renderTop() {
    const body = $('top').tBodies[0];
    body.textContent = '';
    const rows = view.top.rows.slice();
    if (sortKey) {
      rows.sort((a, b) => {
        const c = sortKey === 'name' ? a.name.localeCompare(b.name) : a[sortKey] - b[sortKey];
        return sortDesc ? -c : c;
      });
    }
    for (const r of rows) {
      const tr = el('tr', { 'data-name': r.name, 'data-flat': String(r.flat), 'data-cum': String(r.cum) });
      for (const c of [r.flat_formatted, r.flat_percent, r.sum_percent, r.cum_formatted, r.cum_percent]) {
        tr.append(el('td', {}, c));
      }
      tr.append(el('td', {}, r.inline ? r.name + ' ' + r.inline : r.name));
      body.append(tr);
    }
    for (const th of $('top').tHead.rows[0].cells) {
      th.classList.remove('asc', 'desc');
      if (sortKey && th.dataset.sort === sortKey) th.classList.add(sortDesc ? 'desc' : 'asc');
    }
  }

  function onSort(e) {
    const th = e.target.closest('th');
    if (!th) return;
    const key = th.dataset.sort;
    sortDesc = key === sortKey ? !sortDesc : key !== 'name';
    sortKey = key;
    renderTop();
  }

  function escapeRegex(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }

  // Selecting a function highlights its frames and, on the web, lists its source.
  function selectFunction(name) {
    $('search').value = '^' + escapeRegex(name) + '$';
    applySearch();
    for (const tr of $('top').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.name === name);
    if (web) loadSource(name);
  }

  // ---- timeline (a recording) ----

  const PALETTE = ['#c62828', '#ef8f00', '#1565c0', '#2e7d32', '#6a1b9a', '#00838f', '#ad1457', '#4e342e', '#558b2f', '#283593'];

  function renderTimeline() {
    const t = view.timeline;
    const box = $('timeline-box');
    const wrap = $('timeline-wrap');
    wrap.textContent = '';
    const legend = $('timeline-legend').tBodies[0];
    legend.textContent = '';
    box.hidden = !t;
    if (!t) return;
    const W = 960;
    const H = 320;
    const L = 70;
    const R = 80;
    const T = 12;
    const B = 28;
    const xs = t.times_secs;
    const xmax = Math.max(1e-9, xs[xs.length - 1]);
    let ymax = 1;
    for (const v of t.total) ymax = Math.max(ymax, v);
    for (const s of t.sites) for (const v of s.values) ymax = Math.max(ymax, v);
    const x = (s) => L + ((W - L - R) * s) / xmax;
    const y = (v) => T + (H - T - B) * (1 - v / ymax);
    const g = svg('svg', { id: 'timeline', viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    g.append(svg('title', {}, t.sample_type + ' of the top allocation sites over time'));
    for (let k = 0; k <= 4; k++) {
      const v = (ymax * k) / 4;
      g.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      g.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtValue(v)));
    }
    for (let k = 0; k <= 4; k++) {
      const s = (xmax * k) / 4;
      g.append(svg('text', { x: x(s), y: H - 8, 'text-anchor': 'middle' }, '+' + fmtSecs(s)));
    }
    g.append(svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
    g.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    const line = (values, attrs, label) => {
      const pts = values.map((v, i) => x(xs[i]).toFixed(1) + ',' + y(v).toFixed(1)).join(' ');
      const p = svg('polyline', Object.assign({ points: pts }, attrs));
      p.append(svg('title', {}, label));
      g.append(p);
    };
    line(t.total, { class: 'total', 'data-site': 'total' }, 'total ' + t.sample_type);
    g.append(svg('text', { x: W - R + 4, y: y(t.total[t.total.length - 1]) + 4, fill: '#777' }, 'total'));
    t.sites.forEach((s, k) => {
      const color = PALETTE[k % PALETTE.length];
      line(s.values, { stroke: color, 'data-site': s.name, 'data-class': s.class }, s.name + ': ' + s.class);
      // The verdict sits at the end of its line.
      const last = s.values[s.values.length - 1];
      g.append(svg('text', { x: W - R + 4, y: y(last) + 4, fill: color, 'font-weight': '600' }, s.class + (s.weak ? '?' : '')));
      const tr = el('tr');
      const sw = el('span', { class: 'swatch' });
      sw.style.background = color;
      const c1 = el('td');
      c1.append(sw);
      tr.append(c1);
      const c2 = el('td');
      c2.append(el('span', { class: 'verdict ' + s.class }, s.class + (s.weak ? '?' : '')));
      if (s.grows_with) c2.append(el('span', { class: 'joins' }, ' grows with ' + s.grows_with));
      tr.append(c2);
      const rate = s.growth_per_minute;
      tr.append(el('td', {}, (rate > 0 ? '+' : '') + fmtValue(Math.round(rate)) + '/min'));
      tr.append(el('td', {}, fmtValue(last) + ' now'));
      tr.append(el('td', {}, s.name));
      legend.append(tr);
    });
    wrap.append(g);
    const c = t.counts;
    box.querySelector('h2').textContent =
      'Timeline: ' + t.snapshots + ' snapshots over ' + fmtSecs(xmax) + ' — ' +
      c.leak + ' leak, ' + c.plateau + ' plateau, ' + c.shrinking + ' shrinking, ' + c.churn + ' churn';
  }

  // ---- web: controls, server requests, source ----

  function query(extra) {
    const q = new URLSearchParams();
    for (const k in params) q.set(k, params[k]);
    for (const k in extra || {}) q.set(k, extra[k]);
    return q.toString();
  }

  function showError(msg) {
    const e = $('error');
    e.hidden = !msg;
    e.textContent = msg || '';
  }

  let loads = 0; // a slow answer to an older request must not win

  async function load() {
    const seq = ++loads;
    delete document.body.dataset.ready;
    history.replaceState(null, '', '?' + query());
    let ok = false;
    let body = null;
    try {
      const r = await fetch('api/view?' + query());
      ok = r.ok;
      body = ok ? await r.json() : (await r.text()).trim() || r.status + ' ' + r.statusText;
    } catch (e) {
      ok = false;
      body = 'request failed: ' + e;
    }
    if (seq !== loads) return;
    if (ok) {
      showError('');
      show(body);
    } else {
      showError(body);
    }
    document.body.dataset.ready = '1';
  }

  async function loadSource(name) {
    const pre = $('source');
    pre.textContent = 'listing ' + name + ' …';
    try {
      const r = await fetch('api/list?' + query({ name: name }));
      pre.textContent = (await r.text()) || '(empty)';
    } catch (e) {
      pre.textContent = 'request failed: ' + e;
    }
  }

  function fillControls() {
    const c = view.controls;
    const si = $('sample-index');
    si.textContent = '';
    c.sample_types.forEach((t) => si.append(el('option', { value: t }, t)));
    si.value = c.sample_types[c.sample_index];
    $('focus').value = c.focus;
    $('ignore').value = c.ignore;
    const base = $('base');
    base.textContent = '';
    base.append(el('option', { value: '' }, '(none)'));
    c.bases.forEach((b) => base.append(el('option', { value: b }, b)));
    base.value = c.base;
    base.disabled = c.bases.length === 0;
  }

  function setupControls() {
    new URLSearchParams(location.search).forEach((v, k) => (params[k] = v));
    const set = (k, v) => {
      if (params[k] === v) return;
      params[k] = v;
      load();
    };
    $('sample-index').addEventListener('change', (e) => set('sample_index', e.target.value));
    $('base').addEventListener('change', (e) => set('base', e.target.value));
    for (const id of ['focus', 'ignore']) {
      const input = $(id);
      input.addEventListener('change', () => set(id, input.value));
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          set(id, input.value);
        }
      });
    }
    $('controls').addEventListener('submit', (e) => e.preventDefault());
  }

  // ---- the page ----

  function show(v) {
    view = v;
    tree = layoutTree(v.flame);
    zoom = 0;
    renderSummary();
    renderTimeline();
    renderFlame();
    applySearch();
    renderTop();
    if (web) fillControls();
  }

  function start() {
    for (const th of $('top').tHead.rows[0].cells) th.addEventListener('click', onSort);
    $('top').tBodies[0].addEventListener('click', (e) => {
      const tr = e.target.closest('tr');
      if (tr) selectFunction(tr.dataset.name);
    });
    const flame = $('flame');
    flame.addEventListener('click', (e) => {
      const d = e.target.closest('.frame');
      if (!d) return;
      const i = +d.dataset.i;
      zoomTo(i);
      if (web && i !== 0) loadSource(d.dataset.name);
    });
    flame.addEventListener('mouseover', (e) => {
      const d = e.target.closest('.frame');
      if (d) showFrameInfo(+d.dataset.i);
    });
    $('flame-reset').addEventListener('click', () => zoomTo(0));
    $('search').addEventListener('input', applySearch);
    if (web) {
      setupControls();
      load();
    } else {
      for (const e of document.querySelectorAll('.web-only')) e.remove();
      show(JSON.parse($('data').textContent));
      document.body.dataset.ready = '1';
    }
  }

  start();
})();
