// A few DOM helpers: the app builds its screens with them, without a framework.

/** Creates an element: h('p', {class: 'x', 'data-test': 'y', onclick: fn}, 'text', child...). */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

let uid = 0;
/** A labelled input: returns {field, input}. */
export function field(label, attrs = {}, hint) {
  const id = `f${++uid}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h('input', { id, 'aria-describedby': hintId, ...attrs });
  const f = h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
  return { field: f, input };
}

/** Formats seconds as m:ss (or h:mm:ss). */
export function clock(secs) {
  const s = Math.max(0, Math.floor(secs));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}
