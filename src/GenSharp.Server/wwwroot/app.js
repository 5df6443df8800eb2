// Tabs by URL hash: #chat (default), #images, #training. Each page starts when first shown.
import { initChat } from './chat.js';
import { initImages } from './images.js';
import { initTraining } from './training.js';

const pages = { chat: initChat, images: initImages, training: initTraining };
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

window.addEventListener('hashchange', show);
show();
