package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/tsl"
)

// cmdTrustedListsFetch downloads the EU list of trusted lists and the
// national lists it points to into a folder that verify --trusted-list and
// trustedLists: then read offline: paraphe trusted-lists fetch --dir DIR
// --lotl-signer PEM [--url URL]. It prints what was saved and what failed
// (JSON); exit 1 when a list failed.
func cmdTrustedListsFetch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("trusted-lists fetch", flag.ContinueOnError)
	var c common
	c.register(fs) // accepted like every command's, unused: fetching needs no data folder
	dir := fs.String("dir", "", "folder that receives TERRITORY.xml for each list")
	url := fs.String("url", tsl.EULOTL, "the list of lists")
	signer := fs.String("lotl-signer", "", "PEM file of the certificates the list of lists is signed with (published in the Official Journal of the EU)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "trusted-lists fetch --dir DIR --lotl-signer PEM [--url URL]"); err != nil {
		return err
	}
	if *dir == "" || *signer == "" {
		return usagef("usage: paraphe trusted-lists fetch --dir DIR --lotl-signer PEM [--url URL]")
	}
	b, err := os.ReadFile(*signer)
	if err != nil {
		return exitError{code: 2, err: fmt.Errorf("trusted-lists: %w", err)}
	}
	certs, err := cades.ParsePEMCertificates(b) // brainpool operator certificates too
	if err != nil {
		return exitError{code: 2, err: fmt.Errorf("trusted-lists: %s: %w", *signer, err)}
	}
	res, err := tsl.Fetch(ctx, tsl.FetchRequest{URL: *url, Signers: certs, Dir: *dir})
	if err != nil {
		return err
	}
	if err := printJSON(res); err != nil {
		return err
	}
	if len(res.Failed) > 0 {
		return errors.New("trusted-lists: some lists were not saved (see failed)")
	}
	return nil
}
