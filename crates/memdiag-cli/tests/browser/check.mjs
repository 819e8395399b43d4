// Real-browser check of memdiag's report page (`memdiag report`, opened as a
// file:// URL) and of its live web UI (`memdiag web`, an http:// URL).
//
// usage: node check.mjs URL OUTDIR [--web]
//
// Drives headless Debian Chromium (/usr/bin/chromium) with playwright-core,
// following the page's DOM contract only:
//   body[data-ready="1"] once rendered; #flame with div.frame[data-name]
//   [data-value]; clicking a frame zooms it to the full width of #flame;
//   #flame-reset; #search (input events) marks frames .match and fills
//   #search-status; #top tbody tr[data-name][data-flat][data-cum]; #summary;
//   web only: #sample-index select, #focus and #ignore inputs (Enter),
//   #source.
// Prints one JSON object on stdout with what it saw (figures, not verdicts
// only) and saves full-page screenshots in OUTDIR (before.png, zoomed.png,
// search.png; with --web also sample.png, focus.png, ignore.png). Exits 1,
// with the reasons on stderr, when an element is missing (after ~20 s) or a
// figure is wrong; tests/browser.rs checks the figures against `memdiag top`.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const TIMEOUT = 20_000; // waiting for one element or one re-render
const DEADLINE = 150_000; // the whole run, whatever hangs

const argv = process.argv.slice(2);
const web = argv.includes('--web');
const [url, outdir, ...extra] = argv.filter((a) => a !== '--web');
if (!url || !outdir || extra.length) {
  process.stderr.write('usage: node check.mjs URL OUTDIR [--web]\n');
  process.exit(2);
}

const out = { url, mode: web ? 'web' : 'report' };
const problems = []; // figures that are wrong (the run goes on)
const check = (ok, msg) => {
  if (!ok) problems.push(msg);
  return ok;
};

// An element that never shows up ends the run.
class Missing extends Error {}

const deadline = setTimeout(() => {
  finish(`check.mjs: no result after ${DEADLINE / 1000} s`);
}, DEADLINE);

let browser = null;

function finish(fatal) {
  clearTimeout(deadline);
  if (fatal) out.fatal = fatal;
  out.problems = problems;
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  const reasons = fatal ? [fatal, ...problems] : problems;
  for (const r of reasons) process.stderr.write(`check.mjs: FAIL: ${r}\n`);
  const code = reasons.length ? 1 : 0;
  // Closing the browser may hang on a wedged page: exit regardless.
  const close = browser ? browser.close().catch(() => {}) : Promise.resolve();
  Promise.race([close, new Promise((r) => setTimeout(r, 5000))]).then(() => process.exit(code));
}

// ---- reading the page ----

async function waitFor(page, what, fn, arg, timeout = TIMEOUT) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch (e) {
    throw new Missing(`${what} (waited ${timeout / 1000} s)`);
  }
}

async function waitReady(page, what) {
  await waitFor(page, `${what}: document.body.dataset.ready never became "1"`, () =>
    document.body && document.body.dataset.ready === '1');
  for (const sel of ['#flame', '#top', '#summary', '#search', '#search-status', '#flame-reset']) {
    if (!(await page.$(sel))) throw new Missing(`${what}: no ${sel} element`);
  }
  await waitFor(page, `${what}: no div.frame in #flame`, () =>
    document.querySelectorAll('#flame div.frame').length > 0);
}

// Every drawn frame with its box (viewport px) and row.
async function frames(page) {
  const list = await page.$$eval('#flame div.frame', (els) =>
    els.map((e, index) => {
      const r = e.getBoundingClientRect();
      return {
        index,
        name: e.dataset.name,
        value: Number(e.dataset.value),
        x: r.left,
        y: r.top,
        w: r.width,
        match: e.classList.contains('match'),
      };
    }));
  const rows = [...new Set(list.map((f) => Math.round(f.y)))].sort((a, b) => a - b);
  for (const f of list) f.row = rows.indexOf(Math.round(f.y));
  return list;
}

// The inner width of #flame: what a frame spanning it all is as wide as.
const flameWidth = (page) => page.$eval('#flame', (e) => e.clientWidth);

// The root: the only frame of the top row, if it is alone there.
function root(list) {
  const top = list.filter((f) => f.row === 0);
  return top.length === 1 ? top[0] : null;
}

async function topRows(page) {
  return page.$$eval('#top tbody tr', (trs) =>
    trs.map((tr) => ({
      name: tr.dataset.name,
      flat: Number(tr.dataset.flat),
      cum: Number(tr.dataset.cum),
    })));
}

const rowsKey = (rows) => JSON.stringify(rows);

const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());

async function shot(page, name) {
  const file = path.join(outdir, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

function escapeRegex(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Each frame's parent: the frame of the row above whose span holds its middle.
function parents(list) {
  const byRow = new Map();
  for (const f of list) {
    if (!byRow.has(f.row)) byRow.set(f.row, []);
    byRow.get(f.row).push(f);
  }
  const parent = new Map();
  for (const f of list) {
    const mid = f.x + f.w / 2;
    let best = null;
    for (const p of byRow.get(f.row - 1) || []) {
      if (p.x - 0.5 <= mid && mid <= p.x + p.w + 0.5) {
        const d = Math.abs(p.x + p.w / 2 - mid);
        if (!best || d < best.d) best = { p, d };
      }
    }
    parent.set(f, best ? best.p : null);
  }
  return parent;
}

// Frames not on a stack through a frame matching `re`: neither matching,
// nor below a matching frame, nor above one.
function offStack(list, re) {
  const parent = parents(list);
  const hit = (f) => re.test(f.name);
  const below = new Set(); // frames with a matching descendant
  for (const f of list) {
    if (!hit(f)) continue;
    for (let a = parent.get(f); a; a = parent.get(a)) below.add(a);
  }
  const off = [];
  for (const f of list) {
    let on = hit(f) || below.has(f);
    for (let a = parent.get(f); a && !on; a = parent.get(a)) on = hit(a);
    if (!on) off.push(f.name);
  }
  // The value of the topmost matching frames: each kept sample once.
  let covered = 0;
  for (const f of list) {
    if (!hit(f)) continue;
    let a = parent.get(f);
    while (a && !hit(a)) a = parent.get(a);
    if (!a) covered += f.value;
  }
  return { off, covered };
}

// ---- the checks ----

// Clicks frame `f`, measures it after the zoom, and resets the zoom.
async function zoom(page, f, label) {
  const width = await flameWidth(page);
  await page.locator('#flame div.frame').nth(f.index).click();
  const same = (g) => g.name === f.name && Math.abs(g.y - f.y) < 1;
  // Wait for the zoom to show, then measure whatever it is.
  try {
    await page.waitForFunction(
      ({ name, y, width }) => [...document.querySelectorAll('#flame div.frame')].some((e) => {
        const r = e.getBoundingClientRect();
        return e.dataset.name === name && Math.abs(r.top - y) < 1 && Math.abs(r.width - width) <= 2;
      }),
      { name: f.name, y: f.y, width },
      { timeout: 5000, polling: 100 },
    );
  } catch (e) {
    // measured below
  }
  const after = await frames(page);
  const clicked = after.filter(same).sort((a, b) => b.w - a.w)[0];
  const widthAfter = clicked ? clicked.w : null;
  const r = {
    name: f.name,
    value: f.value,
    width_before: f.w,
    width_after: widthAfter,
    flame_width: width,
    frames_after: after.length,
  };
  check(widthAfter !== null && Math.abs(widthAfter - width) <= 2,
    `zoom on ${label} frame ${f.name}: its width went from ${f.w} to ${widthAfter}, #flame is ${width} px`);
  return r;
}

async function resetZoom(page, before) {
  await page.click('#flame-reset');
  const want = before.map((f) => `${f.name}@${Math.round(f.x)},${Math.round(f.y)},${Math.round(f.w)}`).join('|');
  try {
    await page.waitForFunction((want) => [...document.querySelectorAll('#flame div.frame')].map((e) => {
      const r = e.getBoundingClientRect();
      return `${e.dataset.name}@${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.width)}`;
    }).join('|') === want, want, { timeout: 5000, polling: 100 });
  } catch (e) {
    // measured below
  }
  const after = await frames(page);
  const back = after.length === before.length &&
    after.every((f, i) => f.name === before[i].name && Math.abs(f.w - before[i].w) <= 1);
  check(back, `#flame-reset: ${after.length} frames after, ${before.length} before the zoom, or not as wide`);
  return { frames: after.length, same_as_before: back };
}

async function search(page, list) {
  const rows = await topRows(page);
  // The largest flat function's name, typed as a person would.
  const names = new Set(list.map((f) => f.name));
  const term = rows.length && names.has(rows[0].name)
    ? rows[0].name
    : list.filter((f) => f.row > 0).sort((a, b) => b.w - a.w)[0].name;
  await page.fill('#search', '');
  await page.locator('#search').pressSequentially(term, { delay: 10 });
  await waitFor(page, `#search "${term}": no .frame.match`, () =>
    document.querySelectorAll('#flame div.frame.match').length > 0 &&
    document.getElementById('search-status').textContent.trim() !== '', null, 5000).catch(() => {});
  const after = await frames(page);
  const matched = after.filter((f) => f.match);
  const named = after.filter((f) => f.name === term);
  const r = {
    term,
    matches: matched.length,
    matched_names: [...new Set(matched.map((f) => f.name))],
    frames_named: named.length,
    status: await text(page, '#search-status'),
  };
  check(matched.length >= 1, `#search "${term}": no frame got class match`);
  check(named.every((f) => f.match), `#search "${term}": a frame of that name is not marked`);
  let re = null;
  try {
    re = new RegExp(term);
  } catch (e) {
    // a plain string, then
  }
  check(matched.every((f) => f.name.includes(term) || (re && re.test(f.name))),
    `#search "${term}": marked frames that do not match: ${r.matched_names.join(', ')}`);
  check(/\d/.test(r.status), `#search "${term}": #search-status says "${r.status}"`);
  r.screenshot = await shot(page, 'search.png');
  // Clearing the box clears the marks.
  await page.fill('#search', '');
  r.matches_after_clear = await page.$$eval('#flame div.frame.match', (e) => e.length);
  check(r.matches_after_clear === 0, `#search cleared: ${r.matches_after_clear} frames still marked`);
  return r;
}

// Web: applies one control and waits for the page to show another view.
async function reload(page, what, act, changed) {
  const before = rowsKey(await topRows(page));
  const rootBefore = root(await frames(page));
  await act();
  await waitReady(page, what);
  try {
    await page.waitForFunction(changed, { before, root: rootBefore && rootBefore.value },
      { timeout: TIMEOUT, polling: 100 });
    await waitReady(page, what);
  } catch (e) {
    // measured by the caller
  }
}

async function sampleIndex(page) {
  const options = await page.$$eval('#sample-index option', (o) => o.map((x) => x.value));
  const from = await page.inputValue('#sample-index');
  const to = options.find((v) => v !== from);
  const rowsBefore = await topRows(page);
  const r = { options, from, to: to ?? null };
  if (!check(to !== undefined, `#sample-index has no other option than "${from}": ${options}`)) return r;
  const rowsChanged = ({ before }) => document.body.dataset.ready === '1' &&
    JSON.stringify([...document.querySelectorAll('#top tbody tr')].map((tr) => ({
      name: tr.dataset.name, flat: Number(tr.dataset.flat), cum: Number(tr.dataset.cum),
    }))) !== before;
  await reload(page, `#sample-index ${to}`, () => page.selectOption('#sample-index', to), rowsChanged);
  r.value_after = await page.inputValue('#sample-index');
  r.rows = await topRows(page);
  r.changed = rowsKey(r.rows) !== rowsKey(rowsBefore);
  r.summary = await text(page, '#summary');
  r.console_errors_so_far = consoleErrors.length;
  check(r.changed, `#sample-index ${from} -> ${to}: the top rows did not change`);
  check(r.value_after === to, `#sample-index shows "${r.value_after}" after choosing "${to}"`);
  r.screenshot = await shot(page, 'sample.png');
  // And back: the first view again.
  await reload(page, `#sample-index ${from}`, () => page.selectOption('#sample-index', from), rowsChanged);
  r.back = rowsKey(await topRows(page)) === rowsKey(rowsBefore);
  check(r.back, `#sample-index back to ${from}: the top rows are not those of the first view`);
  return r;
}

// In the page: the view is ready and its root's value is no longer `root`.
function rootChanged({ root }) {
  if (document.body.dataset.ready !== '1') return false;
  const els = [...document.querySelectorAll('#flame div.frame')];
  if (!els.length) return false;
  const top = Math.min(...els.map((e) => e.getBoundingClientRect().top));
  const first = els.filter((e) => Math.abs(e.getBoundingClientRect().top - top) < 1);
  return first.length === 1 && Number(first[0].dataset.value) !== root;
}

// A function worth focusing on: the widest frame under 80% of the root.
function focusTarget(list) {
  const rt = root(list);
  const total = rt ? rt.value : Math.max(...list.map((f) => f.value));
  const pick = list
    .filter((f) => f !== rt && f.value < 0.8 * total && f.value >= 0.02 * total)
    .sort((a, b) => b.value - a.value || a.index - b.index)[0];
  return pick || list.filter((f) => f !== rt).sort((a, b) => b.value - a.value)[0];
}

async function filter(page, id, target) {
  const regex = '^' + escapeRegex(target.name) + '$';
  const re = new RegExp(regex);
  const before = await frames(page);
  const rootBefore = root(before);
  await reload(page, `#${id} ${regex}`, async () => {
    await page.fill(`#${id}`, regex);
    await page.press(`#${id}`, 'Enter');
  }, rootChanged);
  const after = await frames(page);
  const rootAfter = root(after);
  const r = {
    name: target.name,
    regex,
    root_before: rootBefore ? rootBefore.value : null,
    root_after: rootAfter ? rootAfter.value : null,
    frames_before: before.length,
    frames_after: after.length,
    rows: await topRows(page),
    summary: await text(page, '#summary'),
  };
  check(r.root_after !== null && r.root_before !== null && r.root_after < r.root_before,
    `#${id} ${regex}: the root value went from ${r.root_before} to ${r.root_after}`);
  if (id === 'focus') {
    const { off, covered } = offStack(after, re);
    r.frames_off_focus = off.length;
    r.off_focus_names = [...new Set(off)].slice(0, 20);
    r.matching_frames = after.filter((f) => re.test(f.name)).length;
    r.matching_value = covered;
    check(off.length === 0, `#focus ${regex}: ${off.length} frames on no stack through ${target.name}: ${r.off_focus_names}`);
    check(r.matching_frames > 0, `#focus ${regex}: no frame of ${target.name} left`);
  } else {
    r.matching_frames = after.filter((f) => re.test(f.name)).length;
    check(r.matching_frames === 0, `#ignore ${regex}: ${r.matching_frames} frames of ${target.name} left`);
  }
  r.screenshot = await shot(page, `${id}.png`);
  // Clear the control again: the first view comes back.
  await reload(page, `#${id} cleared`, async () => {
    await page.fill(`#${id}`, '');
    await page.press(`#${id}`, 'Enter');
  }, rootChanged);
  const cleared = root(await frames(page));
  r.root_after_clear = cleared ? cleared.value : null;
  check(r.root_after_clear === r.root_before,
    `#${id} cleared: the root value is ${r.root_after_clear}, was ${r.root_before}`);
  return r;
}

// Web: clicking a frame lists its source in #source.
async function source(page, list) {
  const f = list.filter((g) => g.row > 0).sort((a, b) => b.w - a.w)[0];
  const before = await text(page, '#source');
  await page.locator('#flame div.frame').nth(f.index).click();
  await waitFor(page, `#source never changed after a click on ${f.name}`, ({ before, name }) => {
    const t = document.getElementById('source').textContent;
    return t.trim() !== before && t.includes(name) && !t.trim().endsWith('…');
  }, { before, name: f.name }, 10_000).catch(() => {});
  const after = await text(page, '#source');
  const r = { clicked: f.name, text_head: after.slice(0, 400), changed: after !== before };
  check(r.changed && after.includes(f.name), `#source after a click on ${f.name}: "${r.text_head}"`);
  await page.click('#flame-reset');
  return r;
}

const consoleErrors = [];
const pageErrors = [];
const failedRequests = [];
const badResponses = []; // HTTP status >= 400, with the URL the console omits
const foreignRequests = [];

async function main() {
  fs.mkdirSync(outdir, { recursive: true });
  if (!fs.existsSync(CHROMIUM)) throw new Missing(`${CHROMIUM} is not installed (apt-get install chromium)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const at = m.location() && m.location().url;
    consoleErrors.push(at ? `${m.text()} [${at}]` : m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on('response', (r) => {
    if (r.status() >= 400) badResponses.push(`${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => failedRequests.push(`${r.url()}: ${r.failure() && r.failure().errorText}`));
  const origin = web ? new URL(url).origin : null;
  page.on('request', (r) => {
    const u = r.url();
    if (u.startsWith('data:') || u.startsWith('blob:')) return;
    if (web ? new URL(u).origin !== origin : !u.startsWith('file:')) foreignRequests.push(u);
  });

  const resp = await page.goto(url, { waitUntil: 'load', timeout: TIMEOUT });
  if (web && (!resp || !resp.ok())) throw new Missing(`GET ${url}: ${resp ? resp.status() : 'no response'}`);
  await waitReady(page, 'first view');
  out.title = await page.title();
  out.summary = await text(page, '#summary');
  check(out.summary.length > 0, '#summary is empty');

  let list = await frames(page);
  out.frames = list.length;
  out.flame_width = await flameWidth(page);
  const rt = root(list);
  out.root = rt ? { name: rt.name, value: rt.value, width: rt.w } : null;
  check(list.length > 1, `${list.length} frames in #flame`);
  out.top_rows = await topRows(page);
  check(out.top_rows.length > 0, 'no row in #top');
  out.screenshots = { before: await shot(page, 'before.png') };

  // Zoom: the widest frame under the root, then the widest of those under
  // 60% of #flame (the widest is often nearly as wide as the root).
  const nonRoot = list.filter((f) => f !== rt).sort((a, b) => b.w - a.w || a.index - b.index);
  if (!nonRoot.length) throw new Missing('no frame other than the root in #flame');
  out.zoom = await zoom(page, nonRoot[0], 'the widest');
  out.zoom.reset = await resetZoom(page, list);
  const narrow = nonRoot.find((f) => f.w < 0.6 * out.flame_width && f.w >= 20);
  if (narrow) {
    out.zoom_narrow = await zoom(page, narrow, 'a narrower');
    out.screenshots.zoomed = await shot(page, 'zoomed.png');
    out.zoom_narrow.reset = await resetZoom(page, list);
  } else {
    out.zoom_narrow = null;
    await page.locator('#flame div.frame').nth(nonRoot[0].index).click();
    out.screenshots.zoomed = await shot(page, 'zoomed.png');
    await resetZoom(page, list);
  }

  list = await frames(page);
  out.search = await search(page, list);
  out.screenshots.search = out.search.screenshot;

  if (web) {
    for (const sel of ['#sample-index', '#focus', '#ignore', '#source']) {
      if (!(await page.$(sel))) throw new Missing(`web: no ${sel} element`);
    }
    out.source = await source(page, list);
    out.sample_index = await sampleIndex(page);
    list = await frames(page);
    const target = focusTarget(list);
    out.focus = await filter(page, 'focus', target);
    out.ignore = await filter(page, 'ignore', target);
  } else {
    // The report runs on its own: no controls that need a server.
    out.web_controls = await page.$$eval('#sample-index, #focus, #ignore', (e) => e.length);
  }

  out.console_errors = consoleErrors;
  out.page_errors = pageErrors;
  out.failed_requests = failedRequests;
  out.bad_responses = badResponses;
  out.foreign_requests = foreignRequests;
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}` +
    (badResponses.length ? ` (responses: ${badResponses.join(' | ')})` : ''));
  check(badResponses.length === 0, `HTTP errors: ${badResponses.join(' | ')}`);
  check(pageErrors.length === 0, `page errors: ${pageErrors.join(' | ')}`);
  check(failedRequests.length === 0, `failed requests: ${failedRequests.join(' | ')}`);
  check(foreignRequests.length === 0, `requests outside the ${web ? 'server' : 'file'}: ${foreignRequests.join(' | ')}`);
}

main().then(
  () => finish(null),
  (e) => {
    out.console_errors = consoleErrors;
    out.page_errors = pageErrors;
    out.bad_responses = badResponses;
    finish(e instanceof Missing ? e.message : `check.mjs: ${e && e.stack ? e.stack : e}`);
  },
);
