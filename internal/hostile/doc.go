// Package hostile builds small PDFs that cost a parser without budgets
// much time or memory: the cases of the hardening review (issue 11), for
// the regression and fuzz tests of packages pdf, verify and api.
//
// Each builder returns a complete file in memory, a few kilobytes (the
// flate bomb about 1/1000 of what it inflates to). The files are written
// by this package from the review's description, with the standard library
// only; nothing is read from outside.
package hostile
