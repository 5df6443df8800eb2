// Ask page: POST /v1/rag/{index}/ask; the answer with its [n] markers linked to the numbered sources it cites.
import { fillSelect, getJson, listModels, postJson, showError } from './api.js';

const $ = id => document.getElementById(id);
const EXTRACTIVE = '';   // the model choice that sends no model: the server answers with the closest source sentence

/** The answer as text nodes and links: each [n] jumps to source n (a marker past the list stays plain text). */
function renderAnswer(answer, count) {
  const box = $('rag-answer');
  box.replaceChildren();
  let last = 0;
  for (const m of answer.matchAll(/\[(\d+)\]/g)) {
    box.append(answer.slice(last, m.index));
    const n = Number(m[1]);
    if (n >= 1 && n <= count) {
      const a = document.createElement('a');
      a.href = `#rag-source-${n}`;
      a.className = 'cite';
      a.textContent = m[0];
      a.addEventListener('click', e => { e.preventDefault(); $(`rag-source-${n}`).scrollIntoView({ block: 'nearest' }); highlight(n); });
      box.append(a);
    } else box.append(m[0]);
    last = m.index + m[0].length;
  }
  box.append(answer.slice(last));
}

function highlight(n) {
  for (const li of $('rag-sources').children) li.classList.toggle('active', li.id === `rag-source-${n}`);
}

function renderSources(sources) {
  $('rag-sources').replaceChildren(...sources.map(s => {
    const li = document.createElement('li');
    li.id = `rag-source-${s.n}`;
    const head = document.createElement('div');
    head.className = 'span';
    head.textContent = `[${s.n}] ${s.span}${s.heading ? ' — ' + s.heading : ''}`;
    const text = document.createElement('div');
    text.className = 'text';
    text.textContent = s.text;
    li.append(head, text);
    return li;
  }));
}

async function ask(e) {
  e.preventDefault();
  showError($('rag-error'), null);
  const question = $('rag-question').value.trim();
  if (!question) { showError($('rag-error'), 'Type a question first.'); return; }
  const index = $('rag-index').value;
  if (!index) { showError($('rag-error'), 'No index: the server lists none (GET /v1/rag). Make one with gensharp rag ingest DIR --index MODELS/NAME.'); return; }
  const request = {
    question,
    top_k: parseInt($('rag-top-k').value, 10) || 4,
    threshold: parseFloat($('rag-threshold').value),
    mode: $('rag-mode').value,
    rerank: $('rag-rerank').checked,
    max_tokens: parseInt($('rag-max-tokens').value, 10) || 200,
  };
  if (!Number.isFinite(request.threshold)) delete request.threshold;
  if ($('rag-model').value !== EXTRACTIVE) request.model = $('rag-model').value;
  const button = $('rag-ask');
  button.disabled = true;
  button.textContent = 'Asking…';
  try {
    const body = await postJson(`/v1/rag/${encodeURIComponent(index)}/ask`, request);
    renderAnswer(body.answer, body.sources.length);
    renderSources(body.sources);
    $('rag-status').textContent = body.found
      ? `${body.sources.length} sources · best cosine ${body.best_cosine} · answered by ${body.model}`
      : `not found: the best cosine ${body.best_cosine} is under the threshold`;
  } catch (err) {
    showError($('rag-error'), `Asking failed: ${err.message}`);
  } finally {
    button.disabled = false;
    button.textContent = 'Ask';
  }
}

export function initRag() {
  $('rag-form').addEventListener('submit', ask);
  getJson('/v1/rag')
    .then(body => fillSelect($('rag-index'), body.data.map(d => d.id)))
    .catch(err => showError($('rag-error'), `Cannot list indexes: ${err.message}`));
  listModels()
    .then(models => fillSelect($('rag-model'), [{ label: 'none (extractive)', value: EXTRACTIVE }, ...models]))
    .catch(err => showError($('rag-error'), `Cannot list models: ${err.message}`));
}
