// Paraphe's phone web app: what paraphe-device does, on a phone screen. Screens:
// activation (code typed or from a QR code), home (pending requests, live), request
// (details, icon grid, PIN pad), result, history, change PIN, lost phone (block),
// re-activation. Elements that tests drive carry data-test attributes
// (ARCHITECTURE.md, "The phone web app").
import * as dev from './device.js';
import { forgetDevice } from './db.js';
import { t, setLanguage, pickLanguage, language } from './i18n.js';
import { h, field, clock } from './ui.js';
import { strongPIN } from './pin.js';

setLanguage(pickLanguage(navigator.languages?.length ? navigator.languages : [navigator.language]));
document.documentElement.lang = language();
document.querySelector('.skip')?.replaceChildren(t('skip'));

const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const state = { pending: [], screen: '', stopStream: null, link: 'offline', refreshing: null, busy: false };

// --- screens -----------------------------------------------------------------------------

// show puts a screen in place, names it in the title and moves focus to its heading so
// that a screen reader announces it.
function show(name, title, ...content) {
  state.screen = name;
  const h1 = h('h1', { tabindex: '-1' }, title);
  main.replaceChildren(h1, ...content.filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} · ${t('appName')}`;
  h1.focus({ preventScroll: false });
  window.scrollTo(0, 0);
}

function errorBox() {
  return h('p', { class: 'error', role: 'alert', 'data-test': 'error', hidden: true });
}

function say(box, text) {
  box.textContent = text || '';
  box.hidden = !text;
}

function explain(e) {
  if (e instanceof dev.CallError) {
    if (e.status === 0) return t('network');
    switch (e.code) {
      case 'wrong-pin': return e.attemptsLeft === 1 ? t('lastAttempt') : t('wrongPIN', { n: e.attemptsLeft ?? '?' });
      case 'pin-locked': return t('locked');
      case 'wrong-icon': return t('wrongIcon');
      case 'not-pending': return t('notPending');
      case 'expired': return t('gone');
      case 'activation-invalid': return t('badCode');
      case 'blocked': return t('blockedAccount');
      case 'invalid-request': return /PIN/i.test(e.message) ? t('weakPIN') : t('serverError', { detail: e.message });
    }
    return t('serverError', { detail: e.message });
  }
  return t('serverError', { detail: e.message || String(e) });
}

function back(to = '#/') {
  return h('a', { class: 'back', href: to }, '← ', t('back'));
}

// Activation: the code (typed, from the link a QR code holds, or scanned), the PIN twice.
function activation(intro) {
  const code = field(t('activationCode'), { 'data-test': 'activation-code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', required: true }, t('activationHint'));
  const fromLink = new URLSearchParams(location.hash.replace(/^#\/?(activate)?\??/, '')).get('code');
  if (fromLink) code.input.value = fromLink;
  const pin1 = field(t('choosePIN'), pinAttrs(), t('pinRules'));
  const pin2 = field(t('confirmPIN'), pinAttrs());
  const err = errorBox();
  const button = h('button', { type: 'submit', class: 'primary', 'data-test': 'enroll' }, t('activate'));
  const form = h('form', { novalidate: true }, code.field, scanner(code.input), pin1.field, pin2.field, err, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(err, '');
    const p = pin1.input.value.trim();
    if (!code.input.value.trim()) { say(err, t('badCode')); code.input.focus(); return; }
    if (!strongPIN(p)) { say(err, t('weakPIN')); pin1.input.focus(); return; }
    if (p !== pin2.input.value.trim()) { say(err, t('pinMismatch')); pin2.input.focus(); return; }
    button.disabled = true;
    button.textContent = t('activating');
    try {
      await dev.enroll(code.input.value, p);
      pin1.input.value = pin2.input.value = '';
      // a re-activation: the event stream signed with the old key ends; start() opens one with the new
      state.stopStream?.();
      state.stopStream = null;
      state.pending = [];
      history.replaceState(null, '', location.pathname + '#/');
      start();
    } catch (e) {
      say(err, explain(e));
      button.disabled = false;
      button.textContent = t('activate');
    }
  });
  show('activation', t('activateTitle'), intro ? h('p', { class: 'notice', role: 'status' }, intro) : null,
    h('p', {}, t('activateIntro')), form,
    h('nav', { class: 'links', 'aria-label': t('lostTitle') }, h('a', { href: '#/lost' }, t('lostPhone'))));
}

function pinAttrs(extra = {}) {
  return { type: 'password', inputmode: 'numeric', pattern: '[0-9]{5}', maxlength: '5', autocomplete: 'off', class: 'pin', 'data-test': 'pin', ...extra };
}

// scanner offers to read the activation QR code with the camera where the browser can
// decode barcodes (BarcodeDetector); the QR code holds the code or a link with #code=.
function scanner(input) {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices?.getUserMedia) return null;
  const video = h('video', { playsinline: true, muted: true, hidden: true, 'aria-label': t('scanHelp') });
  const note = h('p', { class: 'hint', role: 'status' });
  let stream = null;
  const stop = () => { stream?.getTracks().forEach((tr) => tr.stop()); stream = null; video.hidden = true; btn.textContent = t('scanQR'); };
  const btn = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    if (stream) { stop(); return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch { note.textContent = t('noCamera'); return; }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    btn.textContent = t('stopScan');
    note.textContent = t('scanHelp');
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    const tick = async () => {
      if (!stream) return;
      try {
        const [found] = await detector.detect(video);
        if (found) {
          const raw = found.rawValue;
          const m = /[#?&]code=([^&]+)/.exec(raw);
          input.value = decodeURIComponent(m ? m[1] : raw).trim();
          stop();
          note.textContent = '';
          input.focus();
          return;
        }
      } catch { /* a frame that cannot be read */ }
      requestAnimationFrame(tick);
    };
    tick();
  } }, t('scanQR'));
  return h('div', { class: 'scan' }, btn, video, note);
}

// Home: the pending requests, kept current by the event stream.
function home() {
  const list = h('ul', { class: 'requests', id: 'pending', 'aria-live': 'polite' });
  const live = h('p', { class: 'link', id: 'link' });
  const notes = notificationControl();
  show('home', t('homeTitle'), h('section', { 'data-test': 'home', 'aria-labelledby': 'pending-h' },
    h('h2', { id: 'pending-h', class: 'visually-hidden' }, t('homeTitle')), live, list),
  h('nav', { class: 'menu', 'aria-label': t('appName') },
    h('button', { type: 'button', 'data-test': 'history', onclick: () => go('#/history') }, t('history')),
    h('button', { type: 'button', onclick: () => go('#/pin') }, t('changePIN')),
    h('button', { type: 'button', onclick: () => go('#/lost') }, t('lostPhone')),
    h('button', { type: 'button', onclick: () => go('#/reactivate') }, t('reactivate')),
    notes));
  renderPending();
  renderLink();
}

function renderLink() {
  const el = document.getElementById('link');
  if (el) el.textContent = state.link === 'live' ? t('live') : t('offline');
}

function renderPending() {
  const list = document.getElementById('pending');
  if (!list) return;
  const items = state.pending.map((r) => h('li', { 'data-test': 'request', 'data-request-id': r.id },
    h('button', { type: 'button', class: 'request', onclick: () => go(`#/request/${encodeURIComponent(r.id)}`) },
      h('span', { class: 'who' }, t('from', { who: r.integrator })),
      h('span', { class: 'what' }, t('documents', { n: r.documents.length }), ' · ', r.documents.map((d) => d.name).join(', ')),
      h('span', { class: 'when', 'data-expires': r.expiresAt }, expiry(r.expiresAt)))));
  if (!items.length) items.push(h('li', { class: 'empty' }, t('none')));
  list.replaceChildren(...items);
}

function expiry(at) {
  const left = (Date.parse(at) - Date.now()) / 1000;
  return left > 0 ? t('expiresIn', { t: clock(left) }) : t('expired');
}

// Every second: countdowns, and expired requests leave the list.
setInterval(() => {
  for (const el of document.querySelectorAll('[data-expires]')) el.textContent = expiry(el.getAttribute('data-expires'));
  const before = state.pending.length;
  state.pending = state.pending.filter((r) => Date.parse(r.expiresAt) > Date.now());
  if (state.pending.length !== before && state.screen === 'home') renderPending();
}, 1000);

// The request: who asks, what for (the integrator's description, as CSC authorizations
// carry), the documents and their fingerprints, the countdown, the icon grid, then the
// PIN pad.
async function request(id) {
  const err = errorBox();
  show('request', t('requestTitle'), h('p', { role: 'status' }, '…'));
  let r;
  try {
    r = await dev.getRequest(id);
  } catch (e) {
    show('request', t('requestTitle'), back(), err);
    say(err, explain(e));
    return;
  }
  if (r.status && r.status !== 'pending') { result(r.status); return; }
  let chosen = null;
  const iconButtons = r.icons.map((ic) => h('li', {}, h('button', {
    type: 'button', class: 'icon', 'data-test': 'icon', 'data-icon-id': ic.id, 'aria-pressed': 'false',
    onclick: (ev) => {
      chosen = ic;
      for (const b of grid.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === ev.currentTarget));
      chosenNote.textContent = t('iconChosen', { label: ic.label });
      pad.hidden = false;
      say(err, '');
      pinInput.focus();
    },
  }, h('img', { src: ic.svg, alt: ic.label, width: 72, height: 72 }))));
  const grid = h('ul', { class: 'icons', 'aria-labelledby': 'pick-h' }, iconButtons);
  const chosenNote = h('p', { class: 'chosen', 'aria-live': 'polite' });
  const pinInput = h('input', { id: 'approve-pin', ...pinAttrs({ autocomplete: 'one-time-code' }) });
  const keys = [1, 2, 3, 4, 5, 6, 7, 8, 9, null, 0, 'erase'].map((k) => k === null ? h('span') : h('button', {
    type: 'button', class: 'key', 'aria-label': k === 'erase' ? t('erase') : undefined, tabindex: '-1',
    onclick: () => {
      if (k === 'erase') pinInput.value = pinInput.value.slice(0, -1);
      else if (pinInput.value.length < 5) pinInput.value += String(k);
    },
  }, k === 'erase' ? '⌫' : String(k)));
  const approveBtn = h('button', { type: 'submit', class: 'primary', 'data-test': 'approve' }, t('approve'));
  const pad = h('form', { class: 'pad', hidden: true, novalidate: true },
    h('label', { for: 'approve-pin' }, t('enterPIN')), pinInput, h('div', { class: 'keys', 'aria-hidden': 'true' }, keys), approveBtn);
  pad.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!chosen) { say(err, t('pickFirst')); return; }
    const pin = pinInput.value.trim();
    if (!/^[0-9]{5}$/.test(pin)) { say(err, t('pinLength')); pinInput.focus(); return; }
    approveBtn.disabled = true;
    approveBtn.textContent = t('approving');
    state.busy = true;
    try {
      const st = await dev.approve(r.id, chosen.id, pin);
      pinInput.value = '';
      result(st);
    } catch (e) {
      pinInput.value = '';
      approveBtn.disabled = false;
      approveBtn.textContent = t('approve');
      if (e instanceof dev.CallError && e.code === 'wrong-icon') { result('refused', explain(e)); return; }
      if (e instanceof dev.CallError && (e.code === 'not-pending' || e.code === 'expired')) { result(e.code === 'expired' ? 'expired' : await statusOf(r.id), explain(e)); return; }
      say(err, explain(e));
      pinInput.focus();
    } finally {
      state.busy = false;
    }
  });
  const refuseBtn = h('button', { type: 'button', class: 'danger', 'data-test': 'refuse', onclick: async () => {
    refuseBtn.disabled = true;
    state.busy = true;
    try {
      await dev.refuse(r.id);
      result('refused');
    } catch (e) {
      refuseBtn.disabled = false;
      say(err, explain(e));
    } finally {
      state.busy = false;
    }
  } }, t('refuse'));
  const docs = r.documents.map((d) => h('li', {}, h('span', { class: 'doc' }, d.name),
    h('span', { class: 'fp' }, `${t('fingerprint')}: `, h('code', {}, d.fingerprint)),
    h('span', { class: 'alg' }, `${t('algorithm')}: ${d.digestAlgorithm}`)));
  show('request', t('requestTitle'), back(),
    h('section', { 'data-test': 'request-detail', 'data-request-id': r.id },
      h('dl', {}, h('dt', {}, t('integrator')), h('dd', { class: 'who' }, r.integrator),
        r.description ? h('dt', {}, t('about')) : null,
        r.description ? h('dd', { class: 'about', 'data-test': 'description' }, r.description) : null),
      h('h2', {}, t('docList'), ' ', h('span', { class: 'count' }, `(${r.documents.length})`)),
      h('ol', { class: 'docs' }, docs),
      h('p', { class: 'when', 'data-expires': r.expiresAt }, expiry(r.expiresAt))),
    h('section', { 'aria-labelledby': 'pick-h' }, h('h2', { id: 'pick-h' }, t('pickIcon')), h('p', { class: 'hint' }, t('pickIconHelp')), grid, chosenNote),
    err, pad, h('div', { class: 'actions' }, refuseBtn));
}

async function statusOf(id) {
  try {
    const items = await dev.history(50);
    return items.find((i) => i.id === id)?.status || 'expired';
  } catch { return 'expired'; }
}

// The result: the final status as a word. It stays until the signer goes back, or until
// a new request arrives (then the list of requests is what matters).
function result(status, why) {
  const text = { signed: t('signedText'), authorized: t('authorizedText'), refused: t('refusedText'), failed: t('failedText') }[status] || '';
  const err = errorBox();
  show('result', t('resultTitle'), h('p', { class: `result ${status}`, role: 'status', 'data-test': 'result', 'data-status': status }, t(`st_${status}`)),
    why ? err : null, h('p', {}, text), h('a', { class: 'button', href: '#/' }, t('back')));
  if (why) say(err, why);
  refresh();
}

async function historyScreen() {
  const err = errorBox();
  const list = h('ul', { class: 'history' });
  show('history', t('historyTitle'), back(), err, list);
  try {
    const items = await dev.history(100);
    const fmt = new Intl.DateTimeFormat(language(), { dateStyle: 'medium', timeStyle: 'short' });
    list.replaceChildren(...(items.length ? items.map((i) => h('li', { 'data-test': 'history-item', 'data-request-id': i.id },
      h('span', { class: `status ${i.status}` }, t(`st_${i.status}`)),
      h('span', { class: 'who' }, i.integrator),
      h('span', { class: 'what' }, (i.documents || []).map((d) => d.name).join(', ')),
      h('time', { datetime: i.createdAt }, fmt.format(new Date(i.createdAt))))) : [h('li', { class: 'empty' }, t('historyEmpty'))]));
  } catch (e) {
    say(err, explain(e));
  }
}

function changePINScreen() {
  const old = field(t('currentPIN'), pinAttrs({ 'data-test': 'old-pin' }));
  const n1 = field(t('newPIN'), pinAttrs({ 'data-test': 'new-pin' }), t('pinRules'));
  const n2 = field(t('confirmPIN'), pinAttrs({ 'data-test': 'new-pin' }));
  const err = errorBox();
  const done = h('p', { role: 'status', class: 'notice', hidden: true });
  const btn = h('button', { type: 'submit', class: 'primary' }, t('save'));
  const form = h('form', { novalidate: true }, old.field, n1.field, n2.field, err, done, btn);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(err, '');
    const a = n1.input.value.trim();
    if (!strongPIN(a)) { say(err, t('weakPIN')); return; }
    if (a !== n2.input.value.trim()) { say(err, t('pinMismatch')); return; }
    btn.disabled = true;
    try {
      await dev.changePIN(old.input.value.trim(), a);
      form.reset();
      done.textContent = t('pinChanged');
      done.hidden = false;
    } catch (e) {
      say(err, explain(e));
    } finally {
      btn.disabled = false;
    }
  });
  show('pin', t('changePINTitle'), back(), form);
}

async function lostScreen() {
  const enrolled = await dev.current();
  const phone = field(t('phone'), { type: 'tel', autocomplete: 'tel', required: true, 'data-test': 'block-phone' });
  const name = field(t('givenName'), { autocomplete: 'given-name', required: true, 'data-test': 'block-name' });
  const forget = h('input', { type: 'checkbox', id: 'forget', checked: true });
  const err = errorBox();
  const done = h('p', { role: 'status', class: 'notice', hidden: true });
  const btn = h('button', { type: 'submit', class: 'danger', 'data-test': 'block' }, t('block'));
  const form = h('form', { novalidate: true }, phone.field, name.field,
    enrolled ? h('div', { class: 'check' }, forget, h('label', { for: 'forget' }, t('forget'))) : null, err, done, btn);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(err, '');
    btn.disabled = true;
    try {
      await dev.block(phone.input.value.trim(), name.input.value.trim());
      // forgotten before it is said: a reload after the message starts at activation
      if (enrolled && forget.checked) await leave();
      done.textContent = t('blocked');
      done.hidden = false;
    } catch (e) {
      say(err, explain(e));
    } finally {
      btn.disabled = false;
    }
  });
  show('lost', t('lostTitle'), back(), h('p', {}, t('lostIntro')), form);
}

function reactivateScreen() {
  show('reactivate', t('reactivateTitle'), back(), h('p', {}, t('reactivateIntro')),
    h('button', { type: 'button', class: 'primary', onclick: () => activation() }, t('continue')));
}

// --- notifications (Web Push) ------------------------------------------------------------

function notificationControl() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return null;
  const note = h('p', { class: 'hint', role: 'status' });
  if (Notification.permission === 'granted') {
    subscribe(); // in the background: headless browsers never settle pushManager.subscribe()
    return note;
  }
  if (Notification.permission === 'denied') { note.textContent = t('notificationsDenied'); return note; }
  const btn = h('button', { type: 'button', onclick: async () => {
    const p = await Notification.requestPermission();
    if (p === 'granted') { btn.remove(); note.textContent = t('notificationsOn'); subscribe(); } else note.textContent = t('notificationsDenied');
  } }, t('notifications'));
  return h('div', {}, btn, note);
}

async function subscribe() {
  try {
    const reg = await navigator.serviceWorker.ready;
    let sub = await reg.pushManager.getSubscription();
    if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: await dev.vapidKey() });
    await dev.subscribePush(sub.toJSON());
  } catch (e) {
    console.warn('push subscription:', e.message);
  }
}

// --- state and navigation ----------------------------------------------------------------

function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

async function refresh() {
  if (state.refreshing) return state.refreshing;
  state.refreshing = (async () => {
    try {
      const items = await dev.pending();
      const known = new Set(state.pending.map((r) => r.id));
      state.pending = items.filter((r) => Date.parse(r.expiresAt) > Date.now());
      if (state.screen === 'home') renderPending();
      else if (state.screen === 'result' && state.pending.some((r) => !known.has(r.id))) go('#/');
    } catch (e) {
      if (e instanceof dev.CallError && e.status === 401) await revoked();
    } finally {
      state.refreshing = null;
    }
  })();
  return state.refreshing;
}

// revoked: the server no longer knows this device (re-activated elsewhere, or blocked).
// On the lost-phone screen that is the expected outcome: its own message stays.
async function revoked() {
  await leave();
  if (state.screen !== 'lost') activation(t('revoked'));
}

async function leave() {
  state.stopStream?.();
  state.stopStream = null;
  state.pending = [];
  await forgetDevice();
  dev.reset();
}

async function route() {
  const d = await dev.current();
  const hash = location.hash || '#/';
  if (hash.startsWith('#/lost')) return lostScreen();
  if (!d) return activation();
  const m = /^#\/request\/(.+)$/.exec(hash);
  if (m) return request(decodeURIComponent(m[1]));
  if (hash === '#/history') return historyScreen();
  if (hash === '#/pin') return changePINScreen();
  if (hash === '#/reactivate') return reactivateScreen();
  return home();
}

function start() {
  if (!state.stopStream) {
    state.stopStream = dev.follow((ev) => {
      // A request changed: the pending list is read again (it is the truth); the
      // request on screen ends when it is no longer pending.
      refresh();
      const open = document.querySelector('[data-test=request-detail]');
      if (open && open.getAttribute('data-request-id') === ev.id && ev.status !== 'pending' && state.screen === 'request' && !state.busy) result(ev.status);
    }, (s) => {
      if (s === 'revoked') { revoked(); return; }
      state.link = s;
      renderLink();
      if (s === 'live') refresh();
    });
  }
  route();
}

async function boot() {
  if (!window.isSecureContext || !crypto?.subtle || !window.indexedDB) {
    show('unsupported', t('appName'), h('p', { class: 'error', role: 'alert' }, t('unsupported')));
    return;
  }
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch((e) => console.warn('service worker:', e.message));
    navigator.serviceWorker.addEventListener('message', (ev) => {
      if (ev.data?.type === 'open' && ev.data.id) go(`#/request/${encodeURIComponent(ev.data.id)}`);
    });
  }
  window.addEventListener('hashchange', () => route());
  statusLine.textContent = '';
  if (await dev.current()) start(); else route();
}

boot();
