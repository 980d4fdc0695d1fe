// Package bench measures Paraphe against the parts it is built on, side by side in one
// process run: raw PKCS#11 signatures on the same SoftHSM2 token against complete
// hash-mode requests over loopback HTTP; raw pdfsign against PDF-mode requests; the
// server time of each step under load; the process's resident memory; and the growth of
// PDF signing cost with the file size against SHA-256 hashing.
//
// Run creates one temporary data folder for the whole run and removes it at the end.
// SoftHSM2 binds to a process through SOFTHSM2_CONF when its module is first loaded
// (hsm.InitSoftHSM), so every phase uses the token under that one folder: the raw
// baseline loads the module with its own github.com/miekg/pkcs11 context and finalizes
// it before the service opens; the EC P-256 service is then opened, measured and closed
// (the last close unloads the module), and the same folder is reopened with
// KeyType RSA-3072 for the RSA phase. The key type of users' keys is a per-Env setting,
// so two Envs with different key types cannot share one token at the same time without
// sharing one SQLite file; running them one after the other keeps the database and the
// token the same.
//
// This package calls PKCS#11 directly (cgo through miekg/pkcs11) only for the raw
// baseline, which must not go through Paraphe's hsm package. Targets are reported,
// never enforced: Run fails only when a measurement itself cannot be made (a request
// the server refuses, a signature that is not produced).
//
// Run is not safe for concurrent use: it sets SOFTHSM2_CONF and loads the module.
// The pure helpers (Percentiles, Report methods) are.
package bench
