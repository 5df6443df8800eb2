// Images page: POST /v1/images/generations with a class name as the prompt; a grid of results with their settings.
import { fillSelect, listModels, postJson, showError } from './api.js';

const $ = id => document.getElementById(id);

// Fashion-MNIST's classes in label order: the server picks the class by name from the prompt.
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function int(id) {
  const v = parseInt($(id).value, 10);
  return Number.isFinite(v) ? v : undefined;
}

async function generate(e) {
  e.preventDefault();
  showError($('images-error'), null);
  const request = {
    model: $('images-model').value,
    prompt: $('images-class').value,
    n: int('images-n') ?? 1,
    response_format: 'b64_json',
    // Blank steps and guidance are left out: only some families' samplers have them (a dcgan refuses both).
    steps: int('images-steps'),
    guidance_scale: parseFloat($('images-guidance').value),
    seed: int('images-seed'),
  };
  if (!Number.isFinite(request.guidance_scale)) delete request.guidance_scale;
  if (!request.model) { showError($('images-error'), 'No model: the server lists none (GET /v1/models).'); return; }
  const button = $('images-generate');
  button.disabled = true;
  button.textContent = 'Generating…';
  try {
    const body = await postJson('/v1/images/generations', request);
    const settings = [`model ${request.model}`, `class ${request.prompt}`,
      request.steps !== undefined ? `steps ${request.steps}` : null,
      request.guidance_scale !== undefined ? `guidance ${request.guidance_scale}` : null,
      `seed ${request.seed ?? 'random'}`].filter(Boolean).join(' · ');
    const figures = (body.data || []).map((d, i) => {
      const figure = document.createElement('figure');
      const img = new Image();
      img.src = d.url || `data:image/png;base64,${d.b64_json}`;
      img.alt = `${request.prompt} #${i + 1}`;
      const caption = document.createElement('figcaption');
      caption.textContent = `#${i + 1} of ${body.data.length} · ${settings}`;
      figure.append(img, caption);
      return figure;
    });
    // Newest first: earlier results stay below for comparison.
    $('images-grid').prepend(...figures);
  } catch (err) {
    showError($('images-error'), `Image generation failed: ${err.message}`);
  } finally {
    button.disabled = false;
    button.textContent = 'Generate';
  }
}

export function initImages() {
  fillSelect($('images-class'), CLASSES);
  $('images-form').addEventListener('submit', generate);
  listModels()
    .then(models => fillSelect($('images-model'), models))
    .catch(e => showError($('images-error'), `Cannot list models: ${e.message}`));
}
