// The device protocol, as paraphe-device speaks it (device/protocol.go): every call is
// signed with the device key over "PARAPHE-DEVICE-V1\nMETHOD\nPATH\nTS\nNONCE\nSHA256(body)\n";
// an approval signs the canonical challenge over the request id, every document digest,
// the chosen icon and the server's nonce. WebCrypto signs ECDSA as r||s (IEEE P1363);
// the server reads ASN.1 DER, so signatures are converted.
import { loadDevice, saveDevice } from './db.js';

const enc = new TextEncoder();
const subtle = () => crypto.subtle;

/** An error answered by the server (RFC 9457 problem), or a network failure (status 0). */
export class CallError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || '';
    this.attemptsLeft = problem?.attemptsLeft;
  }
}

export function b64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

function unb64(s) {
  return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
}

function hex(bytes) {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// derInteger encodes one unsigned big-endian integer as an ASN.1 INTEGER.
function derInteger(b) {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.slice(i);
  if (v[0] & 0x80) v = Uint8Array.of(0, ...v);
  return Uint8Array.of(0x02, v.length, ...v);
}

/** Turns a WebCrypto ECDSA P-256 signature (r||s, 64 bytes) into ASN.1 DER. */
export function toDER(raw) {
  const u = new Uint8Array(raw);
  const r = derInteger(u.slice(0, 32)), s = derInteger(u.slice(32));
  return Uint8Array.of(0x30, r.length + s.length, ...r, ...s);
}

async function sign(key, text) {
  const raw = await subtle().sign({ name: 'ECDSA', hash: 'SHA-256' }, key, enc.encode(text));
  return toDER(raw);
}

// The server's clock minus ours, learnt from answers: a phone whose clock is off by
// more than the server's 60-second window can still sign calls.
let skew = 0;
function learnClock(resp) {
  const d = Date.parse(resp.headers.get('Date') || '');
  if (!Number.isNaN(d)) skew = d - Date.now();
}

let device = null;

/** The enrolled device, or null. */
export async function current() {
  if (!device) device = await loadDevice();
  return device;
}

/** Forgets the cached device (after it was removed from storage). */
export function reset() { device = null; }

async function authHeader(method, path, body) {
  const d = await current();
  const ts = Math.floor((Date.now() + skew) / 1000);
  const nonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = hex(await subtle().digest('SHA-256', enc.encode(body)));
  const sig = await sign(d.key, `PARAPHE-DEVICE-V1\n${method}\n${path}\n${ts}\n${nonce}\n${digest}\n`);
  return `Paraphe-Device id=${d.deviceId},ts=${ts},nonce=${nonce},sig=${b64url(sig)}`;
}

async function problemOf(resp) {
  try { return await resp.json(); } catch { return null; }
}

/** One call: signed when a device is enrolled and signed is true; JSON in and out. */
export async function call(method, path, body, { signed = true, signal, headers = {} } = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (signed) h.Authorization = await authHeader(method, path, text);
  let resp;
  try {
    resp = await fetch(path, { method, headers: h, body: body === undefined ? undefined : text, signal, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new CallError(0, { detail: e.message });
  }
  learnClock(resp);
  if (!resp.ok) throw new CallError(resp.status, await problemOf(resp));
  if (resp.status === 204) return null;
  const ct = resp.headers.get('Content-Type') || '';
  return ct.includes('json') ? resp.json() : null;
}

/** Makes the device key, enrolls it with the activation code and PIN, keeps it. */
export async function enroll(code, pin) {
  const pair = await subtle().generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const spki = await subtle().exportKey('spki', pair.publicKey);
  const out = await call('POST', '/v1/devices/enroll', { code: code.trim(), publicKey: b64(spki), pin }, { signed: false });
  const d = { deviceId: out.deviceId, userId: out.userId, key: pair.privateKey, enrolledAt: new Date().toISOString() };
  await saveDevice(d);
  device = d;
  return d;
}

export const pending = () => call('GET', '/v1/device/requests');
export const history = (limit = 50) => call('GET', `/v1/device/history?limit=${limit}`);
export const getRequest = (id) => call('GET', `/v1/device/requests/${encodeURIComponent(id)}`);
export const refuse = (id) => call('POST', `/v1/device/requests/${encodeURIComponent(id)}/refuse`, {});
export const changePIN = (pin, newPin) => call('POST', '/v1/device/pin', { pin, newPin });
export const block = (phone, givenName) => call('POST', '/v1/accounts/block', { phone, givenName }, { signed: false });

/** The canonical approval challenge (device.Challenge in Go). */
export function challenge(r, icon) {
  let s = 'PARAPHE-APPROVAL-V1\n' + `request:${r.id}\n`;
  r.documents.forEach((d, i) => { s += `doc:${i}:${d.digestAlgorithm}:${hex(unb64(d.digest))}\n`; });
  return s + `icon:${icon}\n` + `nonce:${r.nonce}\n`;
}

/** Approves with the icon and PIN; reads the request first for its current nonce, so
 * the signature covers exactly the digests this screen showed. Returns the status. */
export async function approve(id, icon, pin) {
  const r = await getRequest(id);
  const sig = await sign((await current()).key, challenge(r, icon));
  const out = await call('POST', `/v1/device/requests/${encodeURIComponent(id)}/approve`, { icon, pin, nonce: r.nonce, signature: b64(sig) });
  return out.status;
}

/** Registers a push subscription (PushSubscription.toJSON()) for this device. */
export const subscribePush = (sub) => call('POST', '/v1/device/push-subscriptions', sub);

/** The service's VAPID key, as bytes for pushManager.subscribe. */
export async function vapidKey() {
  const r = await call('GET', '/v1/webpush/key', undefined, { signed: false });
  return unb64(r.publicKey);
}

/**
 * Follows the device's server-sent event stream (a signed GET, read with fetch since
 * EventSource cannot send the signature), reconnecting with Last-Event-ID. onEvent gets
 * each request event; onState gets 'live', 'offline' or 'revoked'. Returns a stop function.
 */
export function follow(onEvent, onState) {
  let stopped = false, last = null, ctl = null, delay = 1000;
  const run = async () => {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const path = '/v1/device/events';
        const headers = { Accept: 'text/event-stream', Authorization: await authHeader('GET', path, '') };
        if (last !== null) headers['Last-Event-ID'] = last;
        const resp = await fetch(path, { headers, signal: ctl.signal, cache: 'no-store', credentials: 'omit' });
        learnClock(resp);
        if (resp.status === 401) { onState('revoked'); return; }
        if (!resp.ok || !resp.body) throw new Error(`HTTP ${resp.status}`);
        onState('live');
        delay = 1000;
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let id = null, data = '', type = 'message';
            for (const line of block.split('\n')) {
              if (line.startsWith('id:')) id = line.slice(3).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trim();
              else if (line.startsWith('event:')) type = line.slice(6).trim();
            }
            if (id !== null) last = id;
            if (type === 'request' && data) { try { onEvent(JSON.parse(data)); } catch { /* a malformed event is skipped */ } }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      if (stopped) return;
      onState('offline');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  };
  run();
  return () => { stopped = true; if (ctl) ctl.abort(); };
}
