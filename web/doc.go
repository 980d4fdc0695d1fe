// Package web serves the signer's phone web app (/app/) and the integrator's demo page
// (/demo), built from web/src by esbuild (web/build.mjs, `make web`) into web/dist,
// which is committed and embedded here: the binary needs no network and no Node.js at
// run time, and `go build` works on a clean clone. TestDistUpToDate rebuilds the
// bundle and fails when dist/ is not what the sources give.
//
// Rules, with their reasons:
//   - Every answer carries a Content-Security-Policy that allows only this origin
//     (scripts, styles, images, calls): the app handles PINs and signs with the device
//     key, so no third-party or inline script may run in it.
//   - The service worker (/app/sw.js) and the page are never cached by HTTP caches
//     (no-cache): a fixed version reaches phones at their next start; the other shell
//     files are revalidated too (they are small; a stale script must not sign calls).
//   - The app icons are drawn here at start (PNG, 192 and 512 px, and a maskable one)
//     so that no binary image sits in the repository.
package web
