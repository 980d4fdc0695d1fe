package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
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
