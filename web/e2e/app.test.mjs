// End-to-end tests of the phone web app (/app/) and the demo page (/demo) in Debian's
// Chromium, driven by playwright-core: every screen is reached as a signer would reach
// it, checked with axe-core (no serious or critical violation), and photographed into
// web/e2e/shots (kept as test artifacts; a few are copied to docs/screens for the
// README). Runs against bin/paraphe (make test-browser builds it) on 127.0.0.1 only.
//
//   node --test e2e/        (from web/; PARAPHE_CHROMIUM overrides /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const BIN = process.env.PARAPHE_BIN || path.join(root, 'bin', 'paraphe');
const CHROMIUM = process.env.PARAPHE_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.PARAPHE_SHOTS || path.join(here, 'shots');
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PIN = '71294', NEW_PIN = '40617';

const missing = [BIN, CHROMIUM].filter((f) => !fs.existsSync(f));
if (missing.length && process.env.CI === 'true') throw new Error(`missing ${missing.join(', ')} (make build; apt-get install chromium)`);
const skip = missing.length ? `missing ${missing.join(', ')}` : false;

let dir, server, base, apiKey, browser;

const freePort = () => new Promise((res, rej) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  s.on('error', rej);
});
const cli = (...args) => JSON.parse(execFileSync(BIN, [...args, '--data', path.join(dir, 'data')], { encoding: 'utf8' }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function newUser(given = 'Chloé') {
  const n = Math.floor(Math.random() * 1e7).toString().padStart(7, '0');
  return cli('users', 'add', '--given-name', given, '--surname', `Dubois${n}`, '--email', `c${n}@example.test`, '--phone', `+3247${n}`);
}

// createRequest makes a hash-mode request for the user; returns the API's answer and
// the document digest.
async function createRequest(userId, name = 'employment-contract.pdf') {
  const digest = crypto.randomBytes(32);
  const resp = await fetch(`${base}/v1/signature-requests`, {
    method: 'POST', headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ signer: userId, format: 'CAdES', level: 'B-B', documents: [{ name, digest: digest.toString('base64'), digestAlgorithm: 'SHA-256' }] }),
  });
  const text = await resp.text();
  assert.equal(resp.status, 201, text);
  return { req: JSON.parse(text), digest };
}

async function statusOf(id) {
  const r = await fetch(`${base}/v1/signature-requests/${id}`, { headers: { Authorization: `Bearer ${apiKey}` } });
  return (await r.json()).status;
}

async function newPage(locale = 'en-US') {
  const ctx = await browser.newContext({ viewport: { width: 412, height: 915 }, deviceScaleFactor: 1, locale });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { throw new Error(`page error: ${e.message}`); });
  return page;
}

// axe runs axe-core in the page and fails on any serious or critical violation.
async function axe(page, what) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /\b(null|undefined|NaN)\b/, `${what} shows a missing value`);
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

async function enroll(page, code, pin = PIN) {
  await page.goto(`${base}/app/`);
  await page.locator('[data-test=activation-code]').fill(code);
  const pins = page.locator('[data-test=pin]');
  await pins.nth(0).fill(pin);
  await pins.nth(1).fill(pin);
  await page.locator('[data-test=enroll]').click();
  await page.locator('[data-test=home]').waitFor({ timeout: 30000 });
}

before(async () => {
  if (skip) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paraphe-web-e2e-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--data', path.join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--demo'], { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'server.log'), 'w')] });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not yet */ }
    if (i > 300 || server.exitCode !== null) throw new Error(`paraphe serve did not start: ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-500)}`);
    await sleep(100);
  }
  apiKey = cli('integrators', 'add', 'Acme HR').apiKey;
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1', '--proxy-server=http://127.0.0.1:9',
      '--proxy-bypass-list=127.0.0.1', '--disable-background-networking', '--disable-component-update', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('a signer activates the app, signs, reads the history and changes the PIN', { skip, timeout: 240000 }, async () => {
  const user = await newUser();
  const page = await newPage();
  await page.goto(`${base}/app/`);
  await page.locator('[data-test=activation-code]').waitFor();
  await axe(page, 'activation');
  await shot(page, 'app-activation.png');

  // weak and mismatched PINs are refused before anything is sent
  await page.locator('[data-test=activation-code]').fill(user.activationCode);
  const pins = page.locator('[data-test=pin]');
  await pins.nth(0).fill('12345');
  await pins.nth(1).fill('12345');
  await page.locator('[data-test=enroll]').click();
  assert.match(await page.locator('[data-test=error]').innerText(), /too easy/);
  await pins.nth(0).fill(PIN);
  await pins.nth(1).fill('71295');
  await page.locator('[data-test=enroll]').click();
  assert.match(await page.locator('[data-test=error]').innerText(), /differ/);
  await axe(page, 'activation with an error');
  await pins.nth(1).fill(PIN);
  await page.locator('[data-test=enroll]').click();
  await page.locator('[data-test=home]').waitFor({ timeout: 30000 });
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.locator('#pending li.empty').waitFor();
  await axe(page, 'home with nothing to sign');

  // a request arrives by itself
  const { req, digest } = await createRequest(user.id);
  const item = page.locator(`[data-test=request][data-request-id="${req.id}"]`);
  await item.waitFor({ timeout: 30000 });
  assert.match(await item.innerText(), /Acme HR/);
  assert.match(await item.innerText(), /Expires in \d+:\d\d/);
  await axe(page, 'home');
  await shot(page, 'app-home.png');

  // the request: integrator, document, fingerprint, countdown, icons
  await item.locator('button').click();
  const icons = page.locator('[data-test=icon]');
  await icons.first().waitFor();
  assert.ok((await icons.count()) >= 4);
  const fp = crypto.createHash('sha256').update(digest).digest('hex').slice(0, 16).match(/.{4}/g).join(' ');
  const detail = await page.locator('main').innerText();
  assert.ok(detail.includes('employment-contract.pdf') && detail.includes(fp) && detail.includes('Acme HR'), detail);
  await axe(page, 'request');
  await shot(page, 'app-request.png');

  // the PIN pad: a wrong PIN says the attempts left; the right one signs
  await page.locator(`[data-test=icon][data-icon-id="${req.icon.id}"]`).click();
  assert.equal(await page.locator(`[data-test=icon][data-icon-id="${req.icon.id}"]`).getAttribute('aria-pressed'), 'true');
  await page.locator('.keys button', { hasText: '1' }).first().click();
  assert.equal(await page.locator('[data-test=pin]').inputValue(), '1');
  await page.locator('[data-test=pin]').fill('13579');
  await page.locator('[data-test=approve]').click();
  await page.locator('[data-test=error]', { hasText: '4 attempts left' }).waitFor();
  await axe(page, 'PIN pad with an error');
  await shot(page, 'app-pin.png');
  assert.equal(await statusOf(req.id), 'pending');
  await page.locator('[data-test=pin]').fill(PIN);
  await page.locator('[data-test=approve]').click();
  await page.locator('[data-test=result]', { hasText: 'Signed' }).waitFor({ timeout: 60000 });
  assert.equal(await statusOf(req.id), 'signed');
  await axe(page, 'result');
  await shot(page, 'app-result.png');

  // the result stays until a new request arrives: then the list is back by itself
  await sleep(1500);
  assert.match(await page.locator('[data-test=result]').innerText(), /Signed/);
  const second = await createRequest(user.id, 'annex.pdf');
  await page.locator(`[data-test=request][data-request-id="${second.req.id}"] button`).click({ timeout: 30000 });

  // a refusal, then the history lists both
  await page.locator('[data-test=refuse]').click();
  await page.locator('[data-test=result]', { hasText: 'Refused' }).waitFor();
  assert.equal(await statusOf(second.req.id), 'refused');
  await axe(page, 'result (refused)');
  await shot(page, 'app-refused.png');
  await page.goto(`${base}/app/`);
  await page.locator('[data-test=history]').click();
  await page.locator('[data-test=history-item]').nth(1).waitFor();
  const hist = await page.locator('[data-test=history-item]').allInnerTexts();
  assert.ok(hist.some((h) => /Signed/.test(h) && /employment-contract/.test(h)) && hist.some((h) => /Refused/.test(h) && /annex/.test(h)), hist.join(' | '));
  await axe(page, 'history');
  await shot(page, 'app-history.png');

  // change the PIN; the new one signs
  await page.goto(`${base}/app/#/pin`);
  await page.locator('[data-test=old-pin]').fill(PIN);
  await page.locator('[data-test=new-pin]').nth(0).fill(NEW_PIN);
  await page.locator('[data-test=new-pin]').nth(1).fill(NEW_PIN);
  await page.locator('button[type=submit]').click();
  await page.getByText('Your PIN is changed.').waitFor();
  await axe(page, 'change PIN');
  await shot(page, 'app-change-pin.png');
  const third = await createRequest(user.id, 'third.pdf');
  await page.goto(`${base}/app/#/request/${third.req.id}`);
  await page.locator(`[data-test=icon][data-icon-id="${third.req.icon.id}"]`).click();
  await page.locator('[data-test=pin]').fill(NEW_PIN);
  await page.locator('[data-test=approve]').click();
  await page.locator('[data-test=result]', { hasText: 'Signed' }).waitFor({ timeout: 60000 });

  // the shell starts offline from the service worker's cache
  await page.context().setOffline(true);
  await page.reload();
  await page.locator('h1').waitFor();
  assert.match(await page.locator('.bar').innerText(), /Paraphe/);
  await page.context().setOffline(false);
  await page.context().close();
});

// A CSC authorization (credentials/authorize) reaches the app like any request: the
// integrator, the description the client sent, one document per hash with its
// fingerprint; approving it with the icon and the PIN gives the client its SAD.
test('a CSC authorization shows the integrator, the description and each hash', { skip, timeout: 120000 }, async () => {
  const user = await newUser();
  const page = await newPage();
  await enroll(page, user.activationCode);
  const client = cli('integrators', 'add', 'Acme PDF');
  const tok = await (await fetch(`${base}/csc/v2/oauth2/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.apiKey }),
  })).json();
  const csc = async (method, body) => {
    const r = await fetch(`${base}/csc/v2/${method}`, {
      method: 'POST', headers: { Authorization: `Bearer ${tok.access_token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  };
  const list = await csc('credentials/list', { userID: user.id });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const digests = [crypto.randomBytes(32), crypto.randomBytes(32)];
  const az = await csc('credentials/authorize', {
    credentialID: list.body.credentialIDs[0], numSignatures: 2, hashes: digests.map((d) => d.toString('base64')),
    hashAlgorithmOID: '2.16.840.1.101.3.4.2.1', authData: [{ id: 'phone' }], description: 'Lease and annex, Rue Haute 12',
  });
  assert.equal(az.status, 202, JSON.stringify(az.body));
  await page.locator(`[data-test=request][data-request-id="${az.body.requestId}"] button`).click({ timeout: 30000 });
  await page.locator('[data-test=icon]').first().waitFor();
  assert.equal(await page.locator('[data-test=description]').innerText(), 'Lease and annex, Rue Haute 12');
  const detail = await page.locator('main').innerText();
  for (const d of digests) {
    const fp = crypto.createHash('sha256').update(d).digest('hex').slice(0, 16).match(/.{4}/g).join(' ');
    assert.ok(detail.includes(fp), `fingerprint ${fp} missing: ${detail}`);
  }
  assert.ok(detail.includes('Acme PDF') && detail.includes('(2)'), detail);
  await axe(page, 'CSC authorization');
  await shot(page, 'app-csc-authorization.png');
  await page.locator(`[data-test=icon][data-icon-id="${az.body.icon.id}"]`).click();
  await page.locator('[data-test=pin]').fill(PIN);
  await page.locator('[data-test=approve]').click();
  await page.locator('[data-test=result][data-status=authorized]', { hasText: 'Approved' }).waitFor({ timeout: 30000 });
  await axe(page, 'CSC authorization approved');
  const chk = await csc('credentials/authorizeCheck', { handle: az.body.handle });
  assert.equal(chk.status, 200, JSON.stringify(chk.body));
  assert.ok(chk.body.SAD);
  await page.context().close();
});

test('lost phone: the account is blocked; re-activation with a new code', { skip, timeout: 180000 }, async () => {
  const user = await newUser('Lena');
  const page = await newPage();
  await enroll(page, user.activationCode);
  const pending = await createRequest(user.id);
  await page.goto(`${base}/app/#/lost`);
  await page.locator('[data-test=block-phone]').waitFor();
  await axe(page, 'lost phone');
  await shot(page, 'app-lost-phone.png');
  const shown = cli('users', 'show', user.id);
  await page.locator('[data-test=block-phone]').fill(shown.phone || shown.user?.phone);
  await page.locator('[data-test=block-name]').fill('Lena');
  await page.locator('[data-test=block]').click();
  await page.getByText('it is now blocked').waitFor({ timeout: 30000 });
  await axe(page, 'lost phone, blocked');
  for (let i = 0; i < 300 && (await statusOf(pending.req.id)) === 'pending'; i++) await sleep(100);
  assert.equal(await statusOf(pending.req.id), 'cancelled');
  // the device is gone from this phone: the app asks for a new activation
  await page.goto(`${base}/app/`);
  await page.locator('[data-test=activation-code]').waitFor();

  const again = cli('users', 'reactivate', user.id);
  await page.goto(`${base}/app/#/reactivate`);
  await enroll(page, again.activationCode);
  const next = await createRequest(user.id);
  await page.locator(`[data-test=request][data-request-id="${next.req.id}"]`).waitFor({ timeout: 30000 });
  await page.goto(`${base}/app/#/reactivate`);
  await axe(page, 're-activation');
  await shot(page, 'app-reactivate.png');
  await page.context().close();
});

test('re-activation of a phone that is still activated: new key, requests arrive live again', { skip, timeout: 180000 }, async () => {
  const user = await newUser('Sam');
  const page = await newPage();
  await enroll(page, user.activationCode);
  const before = await page.evaluate(() => new Promise((res, rej) => {
    const r = indexedDB.open('paraphe');
    r.onsuccess = () => { const g = r.result.transaction('device').objectStore('device').get('current'); g.onsuccess = () => res(g.result.deviceId); g.onerror = () => rej(g.error); };
    r.onerror = () => rej(r.error);
  }));
  const again = cli('users', 'reactivate', user.id);
  await page.goto(`${base}/app/#/reactivate`);
  await page.locator('button.primary').click();
  await page.locator('[data-test=activation-code]').fill(again.activationCode);
  const pins = page.locator('[data-test=pin]');
  await pins.nth(0).fill(PIN);
  await pins.nth(1).fill(PIN);
  await page.locator('[data-test=enroll]').click();
  await page.locator('[data-test=home]').waitFor({ timeout: 30000 });
  const after = await page.evaluate(() => new Promise((res, rej) => {
    const r = indexedDB.open('paraphe');
    r.onsuccess = () => { const g = r.result.transaction('device').objectStore('device').get('current'); g.onsuccess = () => res(g.result.deviceId); g.onerror = () => rej(g.error); };
    r.onerror = () => rej(r.error);
  }));
  assert.notEqual(after, before, 'the phone kept its old device');
  // no reload: the request reaches the open page through the new device's stream
  const { req } = await createRequest(user.id, 'after-reactivation.pdf');
  await page.locator(`[data-test=request][data-request-id="${req.id}"]`).waitFor({ timeout: 30000 });
  await page.locator(`[data-test=request][data-request-id="${req.id}"] button`).click();
  await page.locator(`[data-test=icon][data-icon-id="${req.icon.id}"]`).click();
  await page.locator('[data-test=pin]').fill(PIN);
  await page.locator('[data-test=approve]').click();
  await page.locator('[data-test=result]', { hasText: 'Signed' }).waitFor({ timeout: 60000 });
  await page.context().close();
});

test('the app speaks French, Dutch and German from the browser', { skip, timeout: 60000 }, async () => {
  const langs = [
    ['fr-BE', 'Activer ce téléphone', 'Demandes à signer', 'Demande de signature', 'app-activation-fr.png'],
    ['nl-BE', 'Deze telefoon activeren', 'Te ondertekenen', 'Verzoek tot ondertekening', null],
    ['de-DE', 'Dieses Telefon aktivieren', 'Zu signieren', 'Signaturanfrage', null],
  ];
  for (const [locale, title, homeTitle, requestTitle, file] of langs) {
    const page = await newPage(locale);
    await page.goto(`${base}/app/`);
    await page.locator('h1', { hasText: title }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), locale.slice(0, 2));
    await axe(page, `activation (${locale})`);
    if (file) await shot(page, file);
    // the longer words of each language on the home and request screens
    const user = await newUser('Anne');
    await enroll(page, user.activationCode);
    await page.locator('h1', { hasText: homeTitle }).waitFor();
    const { req } = await createRequest(user.id, 'arbeidsovereenkomst-und-anhang.pdf');
    await page.locator(`[data-test=request][data-request-id="${req.id}"] button`).click({ timeout: 30000 });
    await page.locator('h1', { hasText: requestTitle }).waitFor();
    await page.locator(`[data-test=icon][data-icon-id="${req.icon.id}"]`).click();
    await axe(page, `request with the PIN pad (${locale})`);
    await page.context().close();
  }
});

test('a browser without a secure context is told so, accessibly', { skip, timeout: 60000 }, async () => {
  const page = await newPage();
  await page.addInitScript(() => Object.defineProperty(window, 'isSecureContext', { value: false }));
  await page.goto(`${base}/app/`);
  await page.locator('main [role=alert]', { hasText: 'secure storage of keys' }).waitFor();
  await axe(page, 'unsupported browser');
  await page.context().close();
});

test('an activation link (what the QR code holds) fills the code in', { skip, timeout: 60000 }, async () => {
  const page = await newPage();
  await page.goto(`${base}/app/#code=ABCD-EFGH-JKLM-NPQR`);
  await page.locator('[data-test=activation-code]').waitFor();
  assert.equal(await page.locator('[data-test=activation-code]').inputValue(), 'ABCD-EFGH-JKLM-NPQR');
  await page.context().close();
});

test('the demo page is accessible', { skip, timeout: 60000 }, async () => {
  const page = await newPage();
  await page.setViewportSize({ width: 1000, height: 800 });
  await page.goto(`${base}/demo`);
  await page.locator('[data-test=demo-submit]').waitFor();
  await axe(page, 'demo');
  await shot(page, 'demo-form.png');
  await page.context().close();
});

// tabTo presses Tab until the focused element matches selector (at most 40 times).
async function tabTo(page, selector) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector}; focus is on ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120))}`);
}

const focusedHeading = (page) => page.evaluate(() => (document.activeElement?.tagName === 'H1' ? document.activeElement.textContent : null));

test('a signer activates, approves and reads the history with the keyboard alone', { skip, timeout: 180000 }, async () => {
  const user = await newUser('Karim');
  const page = await newPage();
  await page.goto(`${base}/app/`);
  await page.locator('[data-test=activation-code]').waitFor();
  // each screen puts focus on its heading, so that a screen reader announces it
  assert.equal(await focusedHeading(page), 'Activate this phone');
  await tabTo(page, '[data-test=activation-code]');
  await page.keyboard.type(user.activationCode);
  await tabTo(page, '[data-test=pin]');
  await page.keyboard.type(PIN);
  await tabTo(page, '[data-test=pin]');
  await page.keyboard.type(PIN);
  await page.keyboard.press('Enter');
  await page.locator('[data-test=home]').waitFor({ timeout: 30000 });
  assert.equal(await focusedHeading(page), 'Requests to sign');

  const { req } = await createRequest(user.id, 'keyboard.pdf');
  await page.locator(`[data-test=request][data-request-id="${req.id}"]`).waitFor({ timeout: 30000 });
  await tabTo(page, `[data-test=request][data-request-id="${req.id}"] button`);
  await page.keyboard.press('Enter');
  await page.locator('[data-test=icon]').first().waitFor();
  assert.equal(await focusedHeading(page), 'Signature request');
  // a screen reader names each icon by its label: the one the website shows is found by name
  const byName = page.getByRole('button', { name: req.icon.label, exact: true });
  assert.equal(await byName.count(), 1, `no single button named ${req.icon.label}`);
  assert.equal(await byName.getAttribute('data-icon-id'), req.icon.id);
  await tabTo(page, `[data-test=icon][data-icon-id="${req.icon.id}"]`);
  await page.keyboard.press('Space');
  assert.equal(await byName.getAttribute('aria-pressed'), 'true');
  // choosing the icon takes focus to the PIN, whose label a screen reader reads
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-test')), 'pin');
  assert.equal(await page.getByLabel('Your PIN', { exact: true }).count(), 1);
  await page.keyboard.type(PIN);
  await page.keyboard.press('Enter');
  await page.locator('[data-test=result]', { hasText: 'Signed' }).waitFor({ timeout: 60000 });
  assert.equal(await page.locator('[data-test=result]').getAttribute('role'), 'status');
  assert.equal(await statusOf(req.id), 'signed');

  await tabTo(page, 'a.button');
  await page.keyboard.press('Enter');
  await page.locator('[data-test=home]').waitFor();
  await tabTo(page, '[data-test=history]');
  await page.keyboard.press('Enter');
  await page.locator('[data-test=history-item]').first().waitFor({ timeout: 30000 });
  assert.equal(await focusedHeading(page), 'History');
  await page.context().close();
});

test('the demo page: upload, the icon, approval on the phone, download and validation', { skip, timeout: 240000 }, async () => {
  const user = await newUser('Noor');
  const phone = await newPage();
  await enroll(phone, user.activationCode);
  const page = await newPage();
  await page.setViewportSize({ width: 1000, height: 800 });
  await page.goto(`${base}/demo`);
  const pdf = path.join(root, 'testdata', 'contract.pdf');
  await page.locator('[data-test=demo-file]').setInputFiles(pdf);
  await page.locator('[data-test=demo-signer]').fill(user.id);
  await page.locator('[data-test=demo-submit]').click();
  const icon = page.locator('[data-test=demo-icon]');
  await icon.waitFor({ state: 'visible', timeout: 30000 });
  const iconId = await icon.getAttribute('data-icon-id');
  assert.ok(iconId, 'the demo shows no icon id');
  assert.ok(await icon.getAttribute('alt'), 'the icon has no text alternative');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'progress-h', 'focus did not follow to the progress');
  assert.match(await page.locator('[data-test=demo-status]').innerText(), /pending/);
  await axe(page, 'demo, waiting for the signer');
  await shot(page, 'demo-icon.png');

  // the signer approves on the phone, with the icon the demo page shows
  const item = phone.locator('[data-test=request]');
  await item.first().waitFor({ timeout: 30000 });
  assert.equal(await item.count(), 1);
  await item.locator('button').click();
  await phone.locator(`[data-test=icon][data-icon-id="${iconId}"]`).click();
  await phone.locator('[data-test=pin]').fill(PIN);
  await phone.locator('[data-test=approve]').click();
  await phone.locator('[data-test=result]', { hasText: 'Signed' }).waitFor({ timeout: 60000 });

  await page.locator('[data-test=demo-status]', { hasText: 'signed' }).waitFor({ timeout: 60000 });
  await page.locator('[data-test=demo-indication]', { hasText: /\S/ }).waitFor({ timeout: 60000 });
  assert.equal(await page.locator('[data-test=demo-indication]').innerText(), 'TOTAL_PASSED');
  const got = await page.evaluate(async () => {
    const r = await fetch(document.querySelector('[data-test=demo-download]').href);
    const b = new Uint8Array(await r.arrayBuffer());
    return { status: r.status, type: r.headers.get('content-type'), head: String.fromCharCode(...b.subarray(0, 5)), size: b.length };
  });
  assert.equal(got.status, 200);
  assert.equal(got.type, 'application/pdf');
  assert.equal(got.head, '%PDF-');
  assert.ok(got.size > fs.statSync(pdf).size, `the signed PDF (${got.size} bytes) is no larger than the original`);
  await axe(page, 'demo, signed and validated');
  await shot(page, 'demo-signed.png');
  await phone.context().close();
  await page.context().close();
});
