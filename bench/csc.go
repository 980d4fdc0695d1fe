package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paraphe/paraphe/csc"
)

// CSCHashes is the number of hashes of the CSC batch: one approval of 500 hashes, then
// one signHash of all of them, as a signing product does for a large batch.
const CSCHashes = 500

// CSCBatch is the CSC batch's result for one key type.
type CSCBatch struct {
	// Hashes is the number of hashes approved at once and signed in one signHash.
	Hashes int `json:"hashes"`
	// SignaturesPerSec is Hashes over the signHash call's time, seen by the client.
	SignaturesPerSec float64 `json:"signaturesPerSec"`
	// RawRatio is SignaturesPerSec over the raw single-session C_Sign rate: signHash signs
	// its hashes one after the other on one session.
	RawRatio float64 `json:"rawRatio"`
}

// cscBatch runs the explicit CSC flow for d's signer: one authorization of CSCHashes
// hashes approved on the phone, then one timed signHash, whose signatures are then
// verified.
func (s *service) cscBatch(ctx context.Context, d *dev, signAlgo string) (time.Duration, error) {
	call, err := s.cscSession(ctx)
	if err != nil {
		return 0, err
	}
	hashes := make([]string, CSCHashes)
	for i := range hashes {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		h := sha256.Sum256(b)
		hashes[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	cred, sad, err := s.cscApproved(ctx, d, call, hashes)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	sigs, err := cscSignHash(call, cred, sad, hashes, csc.OIDSHA256, signAlgo)
	if err != nil {
		return 0, err
	}
	took := time.Since(t0)
	// What was measured must be right, outside the timed part.
	if err := cscVerify(call, cred, hashes, sigs); err != nil {
		return 0, err
	}
	return took, nil
}

// cscCaller calls a CSC method with a service token, expecting a status.
type cscCaller func(path string, in any, want int, out any) error

// cscSession gets a service token (client credentials) for the bench's integrator.
func (s *service) cscSession(ctx context.Context) (cscCaller, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.clientID}, "client_secret": {s.apiKey}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/csc/v2/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := s.do(req, http.StatusOK, &tok); err != nil {
		return nil, err
	}
	return func(path string, in any, want int, out any) error {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return s.do(req, want, out)
	}, nil
}

// cscApproved runs credentials/authorize for the hashes (SHA-256, base64), approves the
// authorization on d's phone with the icon the client got, and returns d's credential
// and the SAD.
func (s *service) cscApproved(ctx context.Context, d *dev, call cscCaller, hashes []string) (cred, sad string, err error) {
	var list struct {
		CredentialIDs []string `json:"credentialIDs"`
	}
	if err := call("/csc/v2/credentials/list", map[string]string{"userID": d.st.UserID}, http.StatusOK, &list); err != nil {
		return "", "", err
	}
	if len(list.CredentialIDs) != 1 {
		return "", "", errors.New("bench: the signer has no CSC credential")
	}
	cred = list.CredentialIDs[0]
	var handle struct {
		Handle string `json:"handle"`
		Icon   struct {
			ID string `json:"id"`
		} `json:"icon"`
	}
	if err := call("/csc/v2/credentials/authorize", map[string]any{"credentialID": cred, "numSignatures": len(hashes), "hashes": hashes,
		"hashAlgorithmOID": csc.OIDSHA256, "authData": []map[string]string{{"id": "phone"}}, "description": "Benchmark batch"},
		http.StatusAccepted, &handle); err != nil {
		return "", "", err
	}
	// The phone: the pending request, read with its nonce, approved with the icon.
	var pending []struct {
		ID        string `json:"id"`
		Documents []struct {
			Digest string `json:"digest"`
		} `json:"documents"`
	}
	if err := s.call(ctx, http.MethodGet, "/v1/device/requests", "", nil, http.StatusOK, &pending, d.signer()); err != nil {
		return "", "", err
	}
	id := ""
	for _, p := range pending {
		if len(p.Documents) == len(hashes) && p.Documents[0].Digest == hashes[0] {
			id = p.ID
		}
	}
	if id == "" {
		return "", "", errors.New("bench: the phone does not show the CSC authorization")
	}
	it, err := s.fetchForApproval(ctx, d, id)
	if err != nil {
		return "", "", err
	}
	body, err := approveBody(d, it, handle.Icon.ID)
	if err != nil {
		return "", "", err
	}
	if err := s.call(ctx, http.MethodPost, "/v1/device/requests/"+url.PathEscape(it.ID)+"/approve", "application/json",
		body, http.StatusOK, nil, d.signer()); err != nil {
		return "", "", err
	}
	var out struct {
		SAD string `json:"SAD"`
	}
	if err := call("/csc/v2/credentials/authorizeCheck", map[string]string{"handle": handle.Handle}, http.StatusOK, &out); err != nil {
		return "", "", err
	}
	return cred, out.SAD, nil
}

// cscSignHash calls signatures/signHash; hashAlgorithmOID may be empty.
func cscSignHash(call cscCaller, cred, sad string, hashes []string, hashAlgorithmOID, signAlgo string) ([]string, error) {
	in := map[string]any{"credentialID": cred, "SAD": sad, "hashes": hashes, "signAlgo": signAlgo}
	if hashAlgorithmOID != "" {
		in["hashAlgorithmOID"] = hashAlgorithmOID
	}
	var sigs struct {
		Signatures []string `json:"signatures"`
	}
	if err := call("/csc/v2/signatures/signHash", in, http.StatusOK, &sigs); err != nil {
		return nil, err
	}
	if len(sigs.Signatures) != len(hashes) {
		return nil, fmt.Errorf("bench: signHash gave %d signatures for %d hashes", len(sigs.Signatures), len(hashes))
	}
	return sigs.Signatures, nil
}

// cscVerify checks that every signature verifies over its hash with the credential's
// certificate (ECDSA as DER, RSA PKCS #1 v1.5).
func cscVerify(call cscCaller, cred string, hashes, sigs []string) error {
	var info struct {
		Cert struct {
			Certificates []string `json:"certificates"`
		} `json:"cert"`
	}
	if err := call("/csc/v2/credentials/info", map[string]string{"credentialID": cred}, http.StatusOK, &info); err != nil {
		return err
	}
	if len(info.Cert.Certificates) == 0 {
		return errors.New("bench: credentials/info gave no certificate")
	}
	der, err := base64.StdEncoding.DecodeString(info.Cert.Certificates[0])
	if err != nil {
		return fmt.Errorf("bench: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("bench: certificate: %w", err)
	}
	for i, sg := range sigs {
		sig, err := base64.StdEncoding.DecodeString(sg)
		if err != nil {
			return fmt.Errorf("bench: signature %d: %w", i, err)
		}
		h, _ := base64.StdEncoding.DecodeString(hashes[i])
		ok := false
		switch pub := cert.PublicKey.(type) {
		case *ecdsa.PublicKey:
			ok = ecdsa.VerifyASN1(pub, h, sig)
		case *rsa.PublicKey:
			ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h, sig) == nil
		}
		if !ok {
			return fmt.Errorf("bench: signHash signature %d does not verify with the credential's certificate", i)
		}
	}
	return nil
}
