// The demo page: what an integrator's website does with Paraphe's API, through the
// demo endpoints that act as one built-in integrator (paraphe serve --demo).
const $ = (id) => document.getElementById(id);
const FINAL = ['signed', 'refused', 'expired', 'cancelled', 'failed'];
let timer = null;

function problem(body, status) {
  return body?.detail || body?.title || `HTTP ${status}`;
}

async function json(resp) {
  try { return await resp.json(); } catch { return null; }
}

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('error');
  err.hidden = true;
  const file = $('file').files[0];
  const signer = $('signer').value.trim();
  if (!file || !signer) { err.textContent = 'Choose a PDF and give the signer\'s id.'; err.hidden = false; return; }
  const body = new FormData();
  body.append('signer', signer);
  body.append('level', $('level').value);
  body.append('file', file, file.name);
  const btn = ev.submitter || document.querySelector('[data-test=demo-submit]');
  btn.disabled = true;
  try {
    const resp = await fetch('/demo/api/requests', { method: 'POST', body });
    const out = await json(resp);
    if (resp.status !== 201) throw new Error(problem(out, resp.status));
    showRequest(out);
  } catch (e) {
    err.textContent = `The request could not be made: ${e.message}`;
    err.hidden = false;
  } finally {
    btn.disabled = false;
  }
});

function showRequest(r) {
  $('form').hidden = true;
  $('progress').hidden = false;
  const img = $('icon');
  img.src = r.icon.svg;
  img.alt = r.icon.label;
  img.setAttribute('data-icon-id', r.icon.id);
  $('icon-label').textContent = r.icon.label;
  $('status').textContent = r.status;
  $('progress-h').focus();
  clearInterval(timer);
  timer = setInterval(() => poll(r.id), 1000);
}

async function poll(id) {
  const resp = await fetch(`/demo/api/requests/${encodeURIComponent(id)}`).catch(() => null);
  if (!resp || !resp.ok) return;
  const r = await json(resp);
  $('status').textContent = r.reason ? `${r.status} (${r.reason})` : r.status;
  if (!FINAL.includes(r.status)) return;
  clearInterval(timer);
  $('again').hidden = false;
  if (r.status !== 'signed') return;
  const a = $('download');
  a.href = `/demo/api/requests/${encodeURIComponent(id)}/document`;
  $('done').hidden = false;
  const v = await fetch(`/demo/api/requests/${encodeURIComponent(id)}/validation`).catch(() => null);
  const rep = v && (await json(v));
  $('validation').hidden = false;
  $('indication').textContent = rep?.indication || `validation failed (${v ? v.status : 'network'})`;
  $('sub').textContent = rep?.subIndication ? `(${rep.subIndication})` : '';
}

$('again').addEventListener('click', () => {
  $('form').reset();
  $('form').hidden = false;
  $('progress').hidden = true;
  $('done').hidden = true;
  $('validation').hidden = true;
  $('again').hidden = true;
  $('file').focus();
});
