// Tabs by URL hash: #chat (default), #images, #training, #rag. Each page starts when first shown.
import { initChat } from './chat.js';
import { initImages } from './images.js';
import { initTraining } from './training.js';
import { initRag } from './rag.js';
import { apiKey, setApiKey } from './api.js';

const pages = { chat: initChat, images: initImages, training: initTraining, rag: initRag };
const started = new Set();
const stops = {};

function show() {
  const name = (location.hash || '#chat').slice(1);
  const page = name in pages ? name : 'chat';
  for (const p of Object.keys(pages)) {
    document.getElementById(`page-${p}`).hidden = p !== page;
    document.getElementById(`nav-${p}`).classList.toggle('active', p === page);
    if (p !== page && stops[p]?.pause) stops[p].pause();
  }
  if (!started.has(page)) {
    started.add(page);
    stops[page] = pages[page]() || {};
  } else if (stops[page]?.resume) {
    stops[page].resume();
  }
}

// Servers started with --api-key-file want a key on every /v1 request; reload so the pages list models with it.
const keyInput = document.getElementById('api-key');
keyInput.value = apiKey();
keyInput.addEventListener('change', () => { setApiKey(keyInput.value.trim()); location.reload(); });

window.addEventListener('hashchange', show);
show();
