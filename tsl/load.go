package tsl

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/paraphe/paraphe/cades"
	dsig "github.com/russellhaering/goxmldsig"
)

// Limits of Load (see the package documentation for their values).
const (
	maxListFile = 64 << 20
	maxLists    = 500
)

// Options tune Load.
type Options struct {
	// Signers are operator certificates trusted for any list (for example
	// the certificates the Official Journal of the EU publishes for the
	// LOTL), beside the NAME.pem files next to the lists.
	Signers []*x509.Certificate
	// Now is the clock for the signers' validity; time.Now when nil.
	Now func() time.Time
}

// Set is the trusted lists in force. It is read-only and safe for
// concurrent use.
type Set struct {
	Lists []*List
}

// candidate is a list file not yet verified.
type candidate struct {
	source  string
	data    []byte
	signers []*x509.Certificate
}

// Load reads the lists at paths (files, or folders whose *.xml files are
// read), verifies each list's signature and returns them. Every list must
// verify: with Options.Signers, with the certificates of NAME.pem beside
// NAME.xml, or with those a verified list of lists names for its
// territory. A list that does not verify fails the whole load, naming the
// file.
func Load(ctx context.Context, paths []string, opts Options) (*Set, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("tsl: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.xml"))
		if err != nil {
			return nil, fmt.Errorf("tsl: %w", err)
		}
		files = append(files, m...)
	}
	if len(files) > maxLists {
		return nil, fmt.Errorf("tsl: %d lists, at most %d are read", len(files), maxLists)
	}
	var pending []candidate
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			return nil, err
		}
		c := candidate{source: filepath.Base(f), data: data, signers: slices.Clone(opts.Signers)}
		pemFile := strings.TrimSuffix(f, filepath.Ext(f)) + ".pem"
		if b, err := os.ReadFile(pemFile); err == nil {
			certs, err := cades.ParsePEMCertificates(b)
			if err != nil {
				return nil, fmt.Errorf("tsl: %s: %w", pemFile, err)
			}
			c.signers = append(c.signers, certs...)
		}
		pending = append(pending, c)
	}
	set := &Set{}
	// Lists verified by their own signers first, then those that verified
	// lists of lists point to, until nothing more verifies.
	for len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var left []candidate
		progress := false
		for _, c := range pending {
			l, err := verifyList(c.source, c.data, c.signers, "", opts.Now())
			if err != nil {
				l, err = set.verifyByPointer(c, opts.Now())
			}
			if err != nil {
				left = append(left, c)
				continue
			}
			set.Lists = append(set.Lists, l)
			progress = true
		}
		if !progress {
			return nil, fmt.Errorf("%w: %s: the signature does not verify with the list operator's certificate (put it in %s beside the list, or load the list of lists that points to it)",
				ErrList, left[0].source, strings.TrimSuffix(left[0].source, filepath.Ext(left[0].source))+".pem")
		}
		pending = left
	}
	return set, nil
}

// verifyByPointer tries the certificates that the verified lists of lists
// give for other lists; the verified list's territory must be the
// pointer's.
func (s *Set) verifyByPointer(c candidate, now time.Time) (*List, error) {
	for _, l := range s.Lists {
		for _, p := range l.Pointers {
			if len(p.Signers) == 0 {
				continue
			}
			if nl, err := verifyList(c.source, c.data, p.Signers, p.Territory, now); err == nil {
				return nl, nil
			}
		}
	}
	return nil, ErrList
}

// verifyList checks data's enveloped signature with one of signers and
// parses what it covers. A non-empty territory must be the list's.
func verifyList(source string, data []byte, signers []*x509.Certificate, territory string, now time.Time) (*List, error) {
	if len(signers) == 0 {
		return nil, fmt.Errorf("%w: %s: no operator certificate", ErrList, source)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrList, source, err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "TrustServiceStatusList" {
		return nil, fmt.Errorf("%w: %s: not a TrustServiceStatusList", ErrList, source)
	}
	derECDSASignatureValue(root)
	var lastErr error
	for _, cert := range signers {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		vc.IdAttribute = "Id"
		vc.Clock = dsig.NewFakeClockAt(now)
		signed, err := vc.Validate(root)
		if err != nil {
			lastErr = err
			continue
		}
		out := etree.NewDocument()
		out.SetRoot(signed)
		b, err := out.WriteToBytes()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrList, source, err)
		}
		l, err := parse(source, b)
		if err != nil {
			return nil, err
		}
		if territory != "" && !strings.EqualFold(territory, l.Territory) {
			return nil, fmt.Errorf("%w: %s: signed by the operator of %s, not of %s", ErrList, source, territory, l.Territory)
		}
		l.Signer = cert
		return l, nil
	}
	return nil, fmt.Errorf("%w: %s: signature: %w", ErrList, source, lastErr)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tsl: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxListFile+1))
	if err != nil {
		return nil, fmt.Errorf("tsl: %s: %w", path, err)
	}
	if len(b) > maxListFile {
		return nil, fmt.Errorf("tsl: %s is larger than %d bytes", path, maxListFile)
	}
	return b, nil
}

// derECDSASignatureValue rewrites an ECDSA SignatureValue from the XMLDSig
// encoding (r||s, RFC 4050/6931) to the DER ECDSA-Sig-Value that crypto/x509,
// and so goxmldsig, verifies. SignatureValue is outside SignedInfo, so
// nothing signed changes; a value that already parses as DER is left alone.
func derECDSASignatureValue(root *etree.Element) {
	for _, sig := range root.ChildElements() {
		if sig.Tag != "Signature" {
			continue
		}
		method := sig.FindElement("./SignedInfo/SignatureMethod")
		value := sig.FindElement("./SignatureValue")
		if method == nil || value == nil || !strings.Contains(strings.ToLower(method.SelectAttrValue("Algorithm", "")), "ecdsa") {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(value.Text()), ""))
		if err != nil || len(raw) == 0 || len(raw)%2 != 0 {
			continue
		}
		var probe struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(raw, &probe); err == nil && len(rest) == 0 {
			continue
		}
		half := len(raw) / 2
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:half]), new(big.Int).SetBytes(raw[half:])})
		if err != nil {
			continue
		}
		value.SetText(base64.StdEncoding.EncodeToString(der))
	}
}
