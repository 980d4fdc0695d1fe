// Builds the phone web app (/app/) and the demo page (/demo) into dist/, which the Go
// binary embeds (package web). The output depends only on the sources and on esbuild's
// version (no dates, no absolute paths), so a rebuild of unchanged sources gives the
// same bytes: `node build.mjs --check` builds into a temporary folder and fails when
// dist/ differs, and the Go tests run it.
//
//   node build.mjs            build into dist/
//   node build.mjs --check    fail if dist/ is not what the sources give
//   node build.mjs --out DIR  build into DIR
import * as esbuild from 'esbuild';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const outArg = args.indexOf('--out');
const dist = path.join(here, 'dist');
const out = check ? fs.mkdtempSync(path.join(os.tmpdir(), 'paraphe-web-')) : outArg >= 0 ? path.resolve(args[outArg + 1]) : dist;

const common = {
  bundle: true, minify: true, legalComments: 'none', charset: 'utf8', target: ['chrome100', 'firefox100', 'safari15'],
  logLevel: 'warning', write: false, absWorkingDir: here,
};

async function build(entry, outfile, extra = {}) {
  const r = await esbuild.build({ ...common, entryPoints: [path.join(here, entry)], outfile: path.join(out, outfile), ...extra });
  const f = r.outputFiles[0];
  fs.mkdirSync(path.dirname(f.path), { recursive: true });
  fs.writeFileSync(f.path, f.contents);
  return f.contents;
}

function copy(from, to) {
  fs.mkdirSync(path.dirname(path.join(out, to)), { recursive: true });
  const b = fs.readFileSync(path.join(here, from));
  fs.writeFileSync(path.join(out, to), b);
  return b;
}

fs.rmSync(path.join(out, 'app'), { recursive: true, force: true });
fs.rmSync(path.join(out, 'demo'), { recursive: true, force: true });
const shell = [
  await build('src/app/main.js', 'app/app.js', { format: 'esm' }),
  await build('src/app/app.css', 'app/app.css'),
  copy('src/app/index.html', 'app/index.html'),
  copy('src/app/manifest.webmanifest', 'app/manifest.webmanifest'),
];
// The service worker's cache is named after the shell it holds: a new build is a new
// cache, and the old one is dropped when the new worker activates.
const version = crypto.createHash('sha256').update(Buffer.concat(shell.map((b) => Buffer.from(b)))).digest('hex').slice(0, 16);
await build('src/app/sw.js', 'app/sw.js', { format: 'iife', define: { __SHELL_VERSION__: JSON.stringify(version) } });
await build('src/demo/demo.js', 'demo/demo.js', { format: 'esm' });
await build('src/demo/demo.css', 'demo/demo.css');
copy('src/demo/index.html', 'demo/index.html');

if (check) {
  const list = (d) => fs.readdirSync(d, { recursive: true }).filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();
  const want = list(out), have = fs.existsSync(dist) ? list(dist) : [];
  const diff = [];
  for (const f of new Set([...want, ...have])) {
    const a = path.join(out, f), b = path.join(dist, f);
    if (!fs.existsSync(a)) diff.push(`${f}: in dist/ but not built from the sources`);
    else if (!fs.existsSync(b)) diff.push(`${f}: missing from dist/`);
    else if (!fs.readFileSync(a).equals(fs.readFileSync(b))) diff.push(`${f}: differs from what the sources give`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  if (diff.length) {
    process.stderr.write(`web/dist is out of date (run make web):\n  ${diff.join('\n  ')}\n`);
    process.exit(1);
  }
  process.stdout.write('web/dist is up to date\n');
}
