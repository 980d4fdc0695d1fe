package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/paraphe/paraphe/blob"
)

func TestDBBlobs(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		b, err := s.Blobs(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, 2*blobChunk+12345) // three chunks, the last one partial
		rand.Read(data)
		w, err := b.Create(ctx, "requests/r1/0.pdf")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.WriteAt([]byte("PATCH"), blobChunk-2) // across a chunk boundary
		copy(data[blobChunk-2:], "PATCH")
		if _, err := b.Open(ctx, "requests/r1/0.pdf"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatal("visible before commit")
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		f, err := b.Open(ctx, "requests/r1/0.pdf")
		if err != nil {
			t.Fatal(err)
		}
		if f.Size() != int64(len(data)) {
			t.Fatalf("size %d", f.Size())
		}
		got, err := io.ReadAll(f)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back differs: %v", err)
		}
		p := make([]byte, 100)
		if n, err := f.ReadAt(p, int64(len(data))-50); n != 50 || err != io.EOF || !bytes.Equal(p[:50], data[len(data)-50:]) {
			t.Fatalf("ReadAt at the end: %d %v", n, err)
		}
		if _, err := f.Seek(blobChunk, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		f.Read(p)
		if !bytes.Equal(p, data[blobChunk:blobChunk+100]) {
			t.Fatal("seek then read")
		}
		f.Close()
		// Replacing keeps one version; aborting leaves nothing.
		w2, _ := b.Create(ctx, "requests/r1/0.pdf")
		w2.Write([]byte("short"))
		w2.Commit()
		f2, _ := b.Open(ctx, "requests/r1/0.pdf")
		if all, _ := io.ReadAll(f2); string(all) != "short" {
			t.Fatalf("replaced blob reads %q", all)
		}
		w3, _ := b.Create(ctx, "requests/r1_x/1.pdf")
		w3.Write([]byte("x"))
		w3.Abort()
		if _, err := b.Open(ctx, "requests/r1_x/1.pdf"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatal("aborted blob visible")
		}
		// DeletePrefix takes the folder only, with LIKE wildcards escaped.
		w4, _ := b.Create(ctx, "requests/r1x/0.pdf")
		w4.Write([]byte("other request"))
		w4.Commit()
		if err := b.DeletePrefix(ctx, "requests/r1"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(ctx, "requests/r1/0.pdf"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatal("not deleted")
		}
		if _, err := b.Open(ctx, "requests/r1x/0.pdf"); err != nil {
			t.Fatal("DeletePrefix took another request's files")
		}
	})
}
