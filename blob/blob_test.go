package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDirLifecycle(t *testing.T) {
	ctx := context.Background()
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := d.Create(ctx, "req/0.pdf")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello world"))
	w.WriteAt([]byte("W"), 6)
	if _, err := d.Open(ctx, "req/0.pdf"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("visible before commit: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	f, err := d.Open(ctx, "req/0.pdf")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello World" || f.Size() != 11 {
		t.Fatalf("%q %d", b, f.Size())
	}
	a, _ := d.Create(ctx, "req/1.pdf")
	a.Write([]byte("x"))
	a.Abort()
	if _, err := d.Open(ctx, "req/1.pdf"); !errors.Is(err, ErrNotFound) {
		t.Fatal("aborted blob visible")
	}
	entries, _ := os.ReadDir(filepath.Join(d.root, "req"))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := d.DeletePrefix(ctx, "req"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "req/0.pdf"); !errors.Is(err, ErrNotFound) {
		t.Fatal("not deleted")
	}
}

func TestBadKeys(t *testing.T) {
	d, _ := NewDir(t.TempDir())
	for _, k := range []string{"", "../x", "a/../../x", "/abs", "a//b", "a\\b", "a b", "..", "a/.."} {
		if _, err := d.Create(context.Background(), k); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
}

// TestSweepPartial: what a crash leaves (a writer never committed, an upload never
// consumed) goes once old enough; committed documents and recent files stay.
func TestSweepPartial(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	commit := func(key string) {
		w, err := d.Create(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("%PDF-1.7"))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// left as a crash leaves them: a writer never closed, made two hours ago
	crashed := func(key string) string {
		w, err := d.Create(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		name := w.(*writer).Name()
		w.(*writer).File.Close()
		return name
	}
	commit("req-1/signed-0.pdf")
	commit(UploadsPrefix + "/old.pdf")
	commit(UploadsPrefix + "/new.pdf")
	oldTmp := crashed(UploadsPrefix + "/crashed.pdf")
	oldPrepared := crashed("req-2/prepared-0.pdf")
	newTmp := crashed(UploadsPrefix + "/running.pdf")
	for _, p := range []string{oldTmp, oldPrepared, filepath.Join(root, UploadsPrefix, "old.pdf"), filepath.Join(root, "req-1", "signed-0.pdf")} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	n, err := d.SweepPartial(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("swept %d files, want 3", n)
	}
	for p, want := range map[string]bool{
		oldTmp: false, oldPrepared: false, filepath.Join(root, UploadsPrefix, "old.pdf"): false,
		newTmp: true, filepath.Join(root, UploadsPrefix, "new.pdf"): true, filepath.Join(root, "req-1", "signed-0.pdf"): true,
	} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", p, err == nil, want)
		}
	}
	if n, err := d.SweepPartial(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v; want nothing", n, err)
	}
}
