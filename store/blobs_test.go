package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"testing"
	"time"

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

// TestDBBlobsSweepPartial: an upload never consumed and a writer's temporary file go
// once old enough; documents of requests and recent uploads stay.
func TestDBBlobsSweepPartial(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tmp := t.TempDir()
		b, err := s.Blobs(tmp)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{blob.UploadsPrefix + "/old.pdf", blob.UploadsPrefix + "/new.pdf", "requests/r1/0.pdf"} {
			w, err := b.Create(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("%PDF-1.7"))
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-2 * time.Hour).UTC()
		if err := s.db.Model(&blobRow{}).Where("key IN ?", []string{blob.UploadsPrefix + "/old.pdf", "requests/r1/0.pdf"}).
			Update("created_at", old).Error; err != nil {
			t.Fatal(err)
		}
		w, err := b.Create(ctx, blob.UploadsPrefix+"/crashed.pdf") // never committed
		if err != nil {
			t.Fatal(err)
		}
		crashed := w.(*dbWriter).Name()
		w.(*dbWriter).File.Close()
		if err := os.Chtimes(crashed, old, old); err != nil {
			t.Fatal(err)
		}
		n, err := b.SweepPartial(ctx, time.Now().Add(-time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("SweepPartial = %d, %v; want 2", n, err)
		}
		if _, err := os.Stat(crashed); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("temporary file of a crashed writer kept: %v", err)
		}
		for k, want := range map[string]bool{blob.UploadsPrefix + "/old.pdf": false, blob.UploadsPrefix + "/new.pdf": true, "requests/r1/0.pdf": true} {
			f, err := b.Open(ctx, k)
			if (err == nil) != want {
				t.Errorf("%s: found=%v, want %v", k, err == nil, want)
			}
			if err == nil {
				f.Close()
			}
		}
		if n := count(t, s, &blobChunkRow{}, "key = ?", blob.UploadsPrefix+"/old.pdf"); n != 0 {
			t.Fatalf("%d chunks of a swept upload left", n)
		}
	})
}
