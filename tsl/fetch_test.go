package tsl

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/tsl/tsltest"
)

// TestFetch serves a list of lists and two national lists on loopback,
// one of them signed by the wrong operator, and checks what Fetch keeps.
func TestFetch(t *testing.T) {
	q := newQTSP(t)
	eu, pl, cz, mallory := tsltest.NewOperator(t, "EU"), tsltest.NewOperator(t, "PL"), tsltest.NewOperator(t, "CZ"), tsltest.NewOperator(t, "Mallory")
	srv, files := tsltest.ServeFiles(t)
	svc := []tsltest.Service{{Name: "CA", Cert: q.ca, Status: tsltest.Granted, Since: time.Now().Add(-time.Hour)}}
	pointers := tsltest.PointerXMLAt("PL", srv.URL+"/PL.xml", pl) + tsltest.PointerXMLAt("CZ", srv.URL+"/CZ.xml", cz) +
		tsltest.PointerXMLAt("SK", srv.URL+"/SK.pdf", cz)
	pointers = strings.ReplaceAll(pointers, "</tsl:PointersToOtherTSL><tsl:PointersToOtherTSL>", "")
	files["/lotl.xml"] = tsltest.SignList(t, tsltest.MakeList("EU", 400, nil, pointers), eu)
	files["/PL.xml"] = tsltest.SignList(t, tsltest.MakeList("PL", 12, svc, ""), pl)
	files["/CZ.xml"] = tsltest.SignList(t, tsltest.MakeList("CZ", 3, svc, ""), mallory)

	dir := filepath.Join(t.TempDir(), "tl")
	res, err := Fetch(context.Background(), FetchRequest{URL: srv.URL + "/lotl.xml", Signers: []*x509.Certificate{eu.Cert}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Saved, []string{"EU.xml", "PL.xml"}) || res.Failed["CZ"] == "" || len(res.Failed) != 1 {
		t.Fatalf("result: %+v", res)
	}
	set, err := Load(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatalf("Load of the fetched folder: %v", err)
	}
	if len(set.Lists) != 2 || len(set.AnchorsAt(time.Now())) != 1 {
		t.Errorf("%d lists, %d anchors", len(set.Lists), len(set.AnchorsAt(time.Now())))
	}
	if _, err := os.Stat(filepath.Join(dir, "CZ.xml")); err == nil {
		t.Error("the badly signed CZ list was saved")
	}

	// a list of lists signed by someone else is refused, and nothing is written
	dir2 := t.TempDir()
	if _, err := Fetch(context.Background(), FetchRequest{URL: srv.URL + "/lotl.xml", Signers: []*x509.Certificate{mallory.Cert}, Dir: dir2}); err == nil {
		t.Error("a list of lists with another signer accepted")
	}
	if m, _ := filepath.Glob(filepath.Join(dir2, "*")); len(m) != 0 {
		t.Errorf("files written: %v", m)
	}
}
