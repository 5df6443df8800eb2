// Calls to the GenSharp server, with OpenAI-shaped errors turned into readable messages.

/** The message of a failed response: OpenAI's {"error":{"message",...}} when present, else the status. */
export async function errorMessage(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && body.error && body.error.message) return `${body.error.message} (HTTP ${response.status})`;
  } catch { /* not JSON */ }
  return `HTTP ${response.status} ${response.statusText}${text ? ': ' + text.slice(0, 200) : ''}`;
}

const KEY = 'gensharp.apiKey';

/** The API key the user gave (kept in localStorage), or '' when the server needs none. */
export function apiKey() { return localStorage.getItem(KEY) || ''; }
export function setApiKey(key) { key ? localStorage.setItem(KEY, key) : localStorage.removeItem(KEY); }

/** Request headers: JSON, and the API key as a Bearer token when one is set. */
function headers(json) {
  const h = json ? { 'Content-Type': 'application/json' } : {};
  if (apiKey()) h.Authorization = `Bearer ${apiKey()}`;
  return h;
}

async function check(response) {
  if (!response.ok) throw new Error(await errorMessage(response));
  return response;
}

export async function getJson(url, signal) {
  const response = await check(await fetch(url, { signal, cache: 'no-store', headers: headers(false) }));
  return response.json();
}

/** An object URL of a file the server guards with the API key (an <img src> cannot send the key itself); revoke it when done. */
export async function getObjectUrl(url, signal) {
  const response = await check(await fetch(url, { signal, headers: headers(false) }));
  return URL.createObjectURL(await response.blob());
}

export async function postJson(url, body, signal) {
  const response = await check(await fetch(url, {
    method: 'POST', headers: headers(true), body: JSON.stringify(body), signal,
  }));
  return response.json();
}

/**
 * POSTs a streaming request and yields each Server-Sent Event's parsed `data:` JSON until `[DONE]`.
 * An error sent in-band (the stream had already started) is thrown as an Error.
 */
export async function* streamJson(url, body, signal) {
  const response = await check(await fetch(url, {
    method: 'POST', headers: headers(true), body: JSON.stringify(body), signal,
  }));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    // Events end with a blank line; a partial event waits for the next read.
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).trimStart()).join('\n');
      if (!data) continue;
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message || 'the server reported an error');
      yield chunk;
    }
  }
}

/** The model names of GET /v1/models. */
export async function listModels() {
  const body = await getJson('/v1/models');
  return body.data.map(m => m.id);
}

/** Fills a <select> with options, keeping the current choice when it is still there. */
export function fillSelect(select, values, preferred) {
  const keep = preferred ?? select.value;
  select.replaceChildren(...values.map(v => new Option(typeof v === 'string' ? v : v.label, typeof v === 'string' ? v : v.value)));
  if ([...select.options].some(o => o.value === keep)) select.value = keep;
}

/** Shows a message in an error box (or hides it for null). */
export function showError(box, message) {
  box.hidden = !message;
  box.textContent = message || '';
}
