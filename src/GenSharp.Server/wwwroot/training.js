// Training page: a run folder's metrics.jsonl as a curve on a <canvas> and its latest sample grids, polled.
import { fillSelect, getJson, getObjectUrl, showError } from './api.js';

const $ = id => document.getElementById(id);
const POLL_MS = 3000;
// Columns of metrics.jsonl that are not curves worth plotting.
const NOT_SERIES = new Set(['step', 'time', 'it_per_s', 'rss_mb', 'epoch']);

let timer = null;
let rows = [];

/** Numeric columns of the rows; validation columns (val_x) are drawn beside x, not offered alone. */
function seriesNames(rows) {
  const names = new Set();
  for (const r of rows)
    for (const [k, v] of Object.entries(r))
      if (typeof v === 'number' && !NOT_SERIES.has(k) && !k.startsWith('val_')) names.add(k);
  return [...names].sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)));
}

function points(name) {
  return rows.filter(r => typeof r.step === 'number' && Number.isFinite(r[name])).map(r => [r.step, r[name]]);
}

function draw() {
  const canvas = $('training-canvas');
  const ctx = canvas.getContext('2d');
  const { width: W, height: H } = canvas;
  const pad = { left: 64, right: 16, top: 16, bottom: 32 };
  ctx.clearRect(0, 0, W, H);
  ctx.font = '12px system-ui, sans-serif';
  const name = $('training-series').value;
  const log = $('training-log').checked;
  const lines = [[name, '#2f6fde'], [`val_${name}`, '#e07a1f']].map(([n, c]) => [n, c, points(n)]).filter(l => l[2].length);
  const all = lines.flatMap(l => l[2]).filter(([, y]) => !log || y > 0);
  if (!name || all.length === 0) {
    ctx.fillStyle = '#6b7280';
    ctx.fillText(rows.length ? 'no values to plot' : 'no metrics yet', pad.left, H / 2);
    return;
  }
  const f = y => (log ? Math.log10(y) : y);
  let [x0, x1] = [Math.min(...all.map(p => p[0])), Math.max(...all.map(p => p[0]))];
  let [y0, y1] = [Math.min(...all.map(p => f(p[1]))), Math.max(...all.map(p => f(p[1])))];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const sx = x => pad.left + (x - x0) / (x1 - x0) * (W - pad.left - pad.right);
  const sy = y => H - pad.bottom - (f(y) - y0) / (y1 - y0) * (H - pad.top - pad.bottom);
  // Axes with five ticks each.
  ctx.strokeStyle = '#d9dde5';
  ctx.fillStyle = '#6b7280';
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + (y1 - y0) * i / 4, y = H - pad.bottom - (H - pad.top - pad.bottom) * i / 4;
    ctx.beginPath(); ctx.moveTo(pad.left, y); ctx.lineTo(W - pad.right, y); ctx.stroke();
    const label = log ? 10 ** yv : yv;
    ctx.fillText(label.toPrecision(3), 4, y + 4);
    const xv = x0 + (x1 - x0) * i / 4, x = sx(xv);
    ctx.fillText(String(Math.round(xv)), x - 10, H - 10);
  }
  for (const [n, colour, pts] of lines) {
    const shown = pts.filter(([, y]) => !log || y > 0);
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    shown.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    ctx.stroke();
    if (shown.length === 1) ctx.fillRect(sx(shown[0][0]) - 2, sy(shown[0][1]) - 2, 4, 4);
    ctx.fillText(n, W - pad.right - 120, pad.top + 14 * (lines.indexOf(lines.find(l => l[0] === n)) + 1));
  }
  ctx.lineWidth = 1;
}

async function refresh() {
  try {
    const runs = (await getJson('/v1/gensharp/runs')).data.map(r => r.name);
    fillSelect($('training-run'), runs);
    const run = $('training-run').value;
    if (!run) {
      rows = [];
      $('training-status').textContent = 'no run folders (folders with a metrics.jsonl under the models folder)';
      draw();
      $('training-samples').replaceChildren();
      return;
    }
    const [metrics, samples] = await Promise.all([
      getJson(`/v1/gensharp/runs/${encodeURIComponent(run)}/metrics`),
      getJson(`/v1/gensharp/runs/${encodeURIComponent(run)}/samples`),
    ]);
    rows = metrics.data;
    fillSelect($('training-series'), seriesNames(rows));
    draw();
    const last = rows.at(-1);
    $('training-status').textContent = last ? `step ${last.step} · ${rows.length} rows · updated ${new Date().toLocaleTimeString()}` : 'no rows yet';
    renderSamples(samples.data);
    showError($('training-error'), null);
  } catch (e) {
    showError($('training-error'), `Cannot read the run: ${e.message}`);
  }
}

/** The four newest sample grids, newest first; an unchanged image is not reloaded. */
function renderSamples(files) {
  const newest = files.slice(-4).reverse();
  const key = newest.map(s => `${s.file}@${s.modified}`).join('|');
  const box = $('training-samples');
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  for (const old of box.querySelectorAll('img')) if (old.src.startsWith('blob:')) URL.revokeObjectURL(old.src);
  box.replaceChildren(...newest.map(s => {
    const figure = document.createElement('figure');
    const img = new Image();
    img.alt = s.file;
    // Fetched with the API key (a plain src could not send it), shown from an object URL.
    getObjectUrl(`${s.url}?v=${s.modified}`)
      .then(u => { img.src = u; })
      .catch(e => showError($('training-error'), `Cannot load ${s.file}: ${e.message}`));
    const caption = document.createElement('figcaption');
    caption.textContent = s.file;
    figure.append(img, caption);
    return figure;
  }));
}

function start() {
  if (timer) return;
  refresh();
  timer = setInterval(refresh, POLL_MS);
}

function pause() {
  clearInterval(timer);
  timer = null;
}

export function initTraining() {
  $('training-run').addEventListener('change', () => { $('training-samples').dataset.key = ''; refresh(); });
  $('training-series').addEventListener('change', draw);
  $('training-log').addEventListener('change', draw);
  start();
  return { pause, resume: start };
}
