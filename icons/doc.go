// Package icons owns the pictograms of the icon check: on every signature request the
// integrator's page shows one pictogram and the signer's phone shows it among decoys; the
// signer must pick the matching one. The check binds the browser session to the phone and
// defeats phishing and push-bombing, because a signer who did not start the request cannot
// know which pictogram to pick.
//
// Rules:
//   - The pictograms are drawn by the project as SVG files in svg/ and embedded in the binary.
//     Each uses viewBox "0 0 64 64", has no script, no text, no id, no link to any external
//     resource, so it can be inlined safely in an HTML page or sent to a device as is.
//   - Icon IDs are short lowercase ASCII slugs ("sun", "ice-cream") and never change: they are
//     stored with requests and evidence records. Adding icons is fine; renaming or removing
//     one breaks the verification of old evidence.
//   - The pictograms differ in both shape and colour so a person tells them apart at a glance.
//   - Choose draws with crypto/rand: the icon is a security check, so the right icon must not
//     be predictable from earlier requests.
//
// All functions are safe for concurrent use: the catalogue is read-only.
package icons
