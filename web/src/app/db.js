// The device's state in IndexedDB: ids, and the device key as a CryptoKey object that
// the browser keeps non-extractable (structured clone stores the key handle, never its
// bytes in a form a script can read).

const DB = 'paraphe';
const STORE = 'device';
const KEY = 'current';

function open() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  });
}

async function tx(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(req ? req.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

/** The enrolled device ({deviceId, userId, key, enrolledAt}) or null. */
export async function loadDevice() {
  return (await tx('readonly', (s) => s.get(KEY))) || null;
}

/** Keeps the enrolled device, replacing any earlier one. */
export function saveDevice(d) { return tx('readwrite', (s) => s.put(d, KEY)); }

/** Forgets the enrolled device (its key goes with it). */
export function forgetDevice() { return tx('readwrite', (s) => s.delete(KEY)); }
