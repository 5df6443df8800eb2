// Chat page: streaming chat completions, stop, regenerate, edit a past message; conversations in localStorage.
import { fillSelect, listModels, showError, streamJson } from './api.js';

const STORE = 'gensharp.conversations';
const $ = id => document.getElementById(id);

let conversations = [];   // [{ id, title, model, messages: [{ role, content }], updated }]
let current = null;       // the open conversation
let running = null;       // the AbortController of the reply being streamed

function load() {
  try { conversations = JSON.parse(localStorage.getItem(STORE) || '[]'); } catch { conversations = []; }
  if (!Array.isArray(conversations)) conversations = [];
}

function save() {
  localStorage.setItem(STORE, JSON.stringify(conversations));
}

function newConversation() {
  const c = { id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now() + Math.random()), title: 'New conversation', model: $('chat-model').value, messages: [], updated: Date.now() };
  conversations.unshift(c);
  open(c);
  save();
}

function open(c) {
  current = c;
  if (c.model && [...$('chat-model').options].some(o => o.value === c.model)) $('chat-model').value = c.model;
  renderList();
  renderMessages();
}

function renderList() {
  $('chat-list').replaceChildren(...conversations.map(c => {
    const li = document.createElement('li');
    li.classList.toggle('active', c === current);
    const title = document.createElement('span');
    title.textContent = c.title;
    const remove = document.createElement('button');
    remove.textContent = '×';
    remove.title = 'Delete this conversation';
    remove.onclick = e => {
      e.stopPropagation();
      if (running) return;
      conversations = conversations.filter(x => x !== c);
      save();
      if (c === current) conversations.length ? open(conversations[0]) : newConversation();
      else renderList();
    };
    li.append(title, remove);
    li.onclick = () => { if (!running) open(c); };
    return li;
  }));
}

function messageElement(m, index) {
  const li = document.createElement('li');
  li.className = `msg ${m.role}`;
  const head = document.createElement('div');
  head.className = 'role';
  const role = document.createElement('span');
  role.textContent = m.role;
  head.append(role);
  if (m.role === 'user') {
    const edit = document.createElement('button');
    edit.textContent = 'Edit';
    edit.className = 'edit';
    edit.disabled = !!running;
    edit.onclick = () => startEdit(li, index);
    head.append(edit);
  }
  const text = document.createElement('div');
  text.className = 'text';
  text.textContent = m.content;
  li.append(head, text);
  return li;
}

function renderMessages() {
  $('chat-messages').replaceChildren(...current.messages.map(messageElement));
  updateButtons();
}

function updateButtons() {
  const busy = !!running;
  $('chat-send').disabled = busy;
  $('chat-stop').disabled = !busy;
  const last = current?.messages.at(-1);
  $('chat-regenerate').disabled = busy || !last || last.role !== 'assistant';
  for (const b of document.querySelectorAll('#chat-messages .edit')) b.disabled = busy;
}

/** Replaces a user message with an editor; saving truncates the conversation after it and resends. */
function startEdit(li, index) {
  const box = document.createElement('textarea');
  box.value = current.messages[index].content;
  box.rows = 3;
  const saveButton = document.createElement('button');
  saveButton.textContent = 'Save and resend';
  saveButton.className = 'save-edit';
  const cancel = document.createElement('button');
  cancel.textContent = 'Cancel';
  cancel.onclick = renderMessages;
  saveButton.onclick = () => {
    const content = box.value.trim();
    if (!content) return;
    current.messages = current.messages.slice(0, index);
    current.messages.push({ role: 'user', content });
    save();
    renderMessages();
    generate();
  };
  li.querySelector('.text').replaceWith(box);
  li.append(saveButton, cancel);
  box.focus();
}

function number(id, fallback) {
  const v = parseFloat($(id).value);
  return Number.isFinite(v) ? v : fallback;
}

/** Streams the assistant's reply to the conversation as it stands into a new message. */
async function generate() {
  showError($('chat-error'), null);
  const model = $('chat-model').value;
  if (!model) { showError($('chat-error'), 'No model: the server lists none (GET /v1/models).'); return; }
  const c = current;
  c.model = model;
  const request = {
    model,
    messages: c.messages.map(({ role, content }) => ({ role, content })),
    stream: true,
    temperature: number('chat-temperature', 0.8),
    top_p: number('chat-top-p', 1),
    max_tokens: Math.max(1, Math.round(number('chat-max-tokens', 64))),
  };
  const reply = { role: 'assistant', content: '' };
  c.messages.push(reply);
  const li = messageElement(reply, c.messages.length - 1);
  li.classList.add('streaming');
  $('chat-messages').append(li);
  const text = li.querySelector('.text');
  running = new AbortController();
  updateButtons();
  try {
    for await (const chunk of streamJson('/v1/chat/completions', request, running.signal)) {
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        reply.content += delta;
        text.textContent = reply.content;
        li.scrollIntoView({ block: 'end' });
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') {
      showError($('chat-error'), e.message);
      // Nothing arrived: drop the empty reply so regenerate and send act on the user's message.
      if (!reply.content) c.messages.pop();
    }
  } finally {
    running = null;
    li.classList.remove('streaming');
    c.updated = Date.now();
    save();
    if (c === current) renderMessages();
    renderList();
  }
}

function send(e) {
  e.preventDefault();
  if (running) return;
  const content = $('chat-input').value.trim();
  if (!content) return;
  if (current.messages.length === 0) current.title = content.slice(0, 40);
  current.messages.push({ role: 'user', content });
  $('chat-input').value = '';
  save();
  renderMessages();
  renderList();
  generate();
}

function regenerate() {
  if (running || current.messages.at(-1)?.role !== 'assistant') return;
  current.messages.pop();
  renderMessages();
  generate();
}

function exportAll() {
  const blob = new Blob([JSON.stringify(conversations, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `gensharp-conversations-${new Date().toISOString().slice(0, 10)}.json`;
  a.click();
  URL.revokeObjectURL(a.href);
}

/** Adds the conversations of an exported file (an array, or one conversation) to the list. */
async function importFile(e) {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  try {
    const parsed = JSON.parse(await file.text());
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const valid = list.filter(c => c && Array.isArray(c.messages) &&
      c.messages.every(m => m && typeof m.content === 'string' && ['system', 'user', 'assistant'].includes(m.role)));
    if (valid.length === 0) throw new Error('no conversations in it (expected a JSON array of {title, messages:[{role, content}]})');
    for (const c of valid) {
      c.id = String(Date.now() + Math.random());
      c.title = typeof c.title === 'string' ? c.title : 'Imported';
      conversations.unshift(c);
    }
    save();
    open(valid[0]);
    showError($('chat-error'), null);
  } catch (err) {
    showError($('chat-error'), `Cannot import ${file.name}: ${err.message}`);
  }
}

export function initChat() {
  load();
  $('chat-form').addEventListener('submit', send);
  $('chat-input').addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('chat-form').requestSubmit(); }
  });
  $('chat-stop').onclick = () => running?.abort();
  $('chat-regenerate').onclick = regenerate;
  $('chat-new').onclick = () => { if (!running) newConversation(); };
  $('chat-export').onclick = exportAll;
  $('chat-import').addEventListener('change', importFile);
  $('chat-model').addEventListener('change', () => { if (current) { current.model = $('chat-model').value; save(); } });
  listModels()
    .then(models => {
      fillSelect($('chat-model'), models, current?.model);
      if (models.length === 0) showError($('chat-error'), 'The server has no models: put checkpoints or Hugging Face folders under its --models folder.');
    })
    .catch(e => showError($('chat-error'), `Cannot list models: ${e.message}`))
    .finally(() => { if (current) open(current); });
  if (conversations.length) open(conversations[0]); else newConversation();
}
