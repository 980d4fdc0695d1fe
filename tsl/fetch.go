package tsl

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// EULOTL is where the European Commission publishes the EU list of trusted
// lists.
const EULOTL = "https://ec.europa.eu/tools/lotl/eu-lotl.xml"

// FetchRequest says what Fetch downloads and where it puts it.
type FetchRequest struct {
	// URL is the list of lists (EULOTL when empty).
	URL string
	// Signers are the certificates the list of lists must be signed with
	// (for the EU list, those the Official Journal publishes).
	Signers []*x509.Certificate
	// Dir receives TERRITORY.xml for each list, and the list of lists'
	// signers as its .pem.
	Dir string
	// Client makes the requests; nil uses one with a 30 s timeout.
	Client *http.Client
	// Now is the clock for certificate validity; time.Now when nil.
	Now func() time.Time
}

// FetchResult is what Fetch did, list by list.
type FetchResult struct {
	// Saved names the files written (TERRITORY.xml), Failed the lists not
	// saved and why (an older file, if any, is kept).
	Saved  []string          `json:"saved"`
	Failed map[string]string `json:"failed,omitempty"`
}

var territoryRE = regexp.MustCompile(`^[A-Za-z]{2}$`)

// Fetch downloads the list of lists, verifies it with req.Signers, then
// downloads every XML list it points to and verifies each with the
// certificates its pointer gives; each list that verifies is written to
// req.Dir (replacing the previous file in one rename), so that Load(req.Dir)
// reads them offline. The list of lists failing is an error; another list
// failing is reported in the result and leaves its previous file alone.
func Fetch(ctx context.Context, req FetchRequest) (*FetchResult, error) {
	if req.URL == "" {
		req.URL = EULOTL
	}
	if req.Client == nil {
		req.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if req.Now == nil {
		req.Now = time.Now
	}
	if len(req.Signers) == 0 {
		return nil, fmt.Errorf("tsl: fetch: the list of lists' signing certificates are needed")
	}
	if err := os.MkdirAll(req.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("tsl: fetch: %w", err)
	}
	data, err := get(ctx, req.Client, req.URL)
	if err != nil {
		return nil, err
	}
	lotl, err := verifyList(filepath.Base(req.URL), data, req.Signers, "", req.Now())
	if err != nil {
		return nil, err
	}
	name := strings.ToUpper(lotl.Territory)
	if !territoryRE.MatchString(name) {
		return nil, fmt.Errorf("%w: list of lists of territory %q", ErrList, lotl.Territory)
	}
	res := &FetchResult{Failed: map[string]string{}}
	var pemData []byte
	for _, c := range req.Signers {
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := writeAtomic(filepath.Join(req.Dir, name+".pem"), pemData); err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(req.Dir, name+".xml"), data); err != nil {
		return nil, err
	}
	res.Saved = append(res.Saved, name+".xml")
	for _, p := range lotl.Pointers {
		terr := strings.ToUpper(p.Territory)
		if terr == name || !strings.HasSuffix(strings.ToLower(p.Location), ".xml") {
			continue // the list of lists itself, or a PDF edition
		}
		if !territoryRE.MatchString(terr) {
			res.Failed[p.Location] = "pointer without a two-letter territory"
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		data, err := get(ctx, req.Client, p.Location)
		if err == nil {
			_, err = verifyList(terr+".xml", data, p.Signers, terr, req.Now())
		}
		if err == nil {
			err = writeAtomic(filepath.Join(req.Dir, terr+".xml"), data)
		}
		if err != nil {
			res.Failed[terr] = err.Error()
			continue
		}
		res.Saved = append(res.Saved, terr+".xml")
	}
	return res, nil
}

func get(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") {
		return nil, fmt.Errorf("tsl: fetch: %q is not an http(s) URL", u)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("tsl: fetch: %w", err)
	}
	resp, err := c.Do(r)
	if err != nil {
		return nil, fmt.Errorf("tsl: fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tsl: fetch %s: HTTP %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxListFile+1))
	if err != nil {
		return nil, fmt.Errorf("tsl: fetch %s: %w", u, err)
	}
	if len(b) > maxListFile {
		return nil, fmt.Errorf("tsl: fetch %s: larger than %d bytes", u, maxListFile)
	}
	return b, nil
}

// writeAtomic replaces path with data through a temporary file and a
// rename, so a reader never sees half a list.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tsl-*")
	if err != nil {
		return fmt.Errorf("tsl: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("tsl: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tsl: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("tsl: %w", err)
	}
	return nil
}
