// The app's service worker: keeps the shell (page, script, style, manifest, icons) for
// offline starts, shows Web Push messages as notifications, and opens the request a
// notification names. It never caches API calls: requests, PINs and answers always go
// to the server.
import { t, setLanguage, pickLanguage } from './i18n.js';

/* global __SHELL_VERSION__ */
const CACHE = `paraphe-shell-${__SHELL_VERSION__}`;
const SHELL = ['/app/', '/app/app.js', '/app/app.css', '/app/manifest.webmanifest', '/app/icon-192.png', '/app/icon-512.png', '/app/icon.svg'];

setLanguage(pickLanguage(self.navigator?.languages || [self.navigator?.language]));

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    for (const k of await caches.keys()) if (k.startsWith('paraphe-shell-') && k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

// The shell: network first (a new version shows at once), the cached copy when offline.
self.addEventListener('fetch', (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/app/')) return;
  const key = url.pathname === '/app/index.html' ? '/app/' : url.pathname;
  if (!SHELL.includes(key)) return;
  ev.respondWith((async () => {
    try {
      const resp = await fetch(ev.request);
      if (resp.ok) {
        const c = await caches.open(CACHE);
        await c.put(key, resp.clone());
      }
      return resp;
    } catch (e) {
      const hit = await caches.match(key);
      if (hit) return hit;
      throw e;
    }
  })());
});

// A push message names a new request ({"id","status"}); the notification opens it.
self.addEventListener('push', (ev) => {
  let msg = {};
  try { msg = ev.data ? ev.data.json() : {}; } catch { msg = {}; }
  ev.waitUntil(self.registration.showNotification(t('newRequest'), {
    body: t('newRequestBody'), tag: msg.id || 'paraphe', icon: '/app/icon-192.png', badge: '/app/icon-192.png',
    data: { id: msg.id }, requireInteraction: true,
  }));
});

self.addEventListener('notificationclick', (ev) => {
  ev.notification.close();
  const id = ev.notification.data?.id;
  const target = id ? `/app/#/request/${encodeURIComponent(id)}` : '/app/';
  ev.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of wins) {
      if (new URL(w.url).pathname.startsWith('/app/')) {
        await w.focus();
        if (id) w.postMessage({ type: 'open', id });
        return;
      }
    }
    await self.clients.openWindow(target);
  })());
});
