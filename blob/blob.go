// Package blob owns the documents Paraphe keeps between steps (prepared and signed PDFs):
// a store of immutable files by key. The embedded default is a folder under the data
// folder; every replica reaches it when replicas share that folder (a network volume).
//
// Rules: a blob becomes visible only when its writer commits (write to a temporary file,
// fsync, rename), so a crash never leaves half a document under a key; keys are
// slash-separated names of [a-zA-Z0-9._-] segments, checked, so no key escapes the folder;
// what a crash leaves behind (temporary files, uploads no request consumed) is swept by
// SweepPartial once an hour old, which retention runs call. Dir is safe for concurrent use.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ErrNotFound is returned for a key with no committed blob.
var ErrNotFound = errors.New("blob: not found")

// File is an opened blob.
type File interface {
	io.ReaderAt
	io.ReadSeekCloser
	Size() int64
}

// Writer writes a new blob; nothing is visible before Commit. Abort (or Close without
// Commit) discards it.
type Writer interface {
	io.Writer
	io.WriterAt
	io.ReaderAt
	Commit() error
	Abort()
}

// Dir keeps blobs as files under a folder.
type Dir struct{ root string }

// NewDir returns a Dir rooted at root, creating it (mode 0700: documents are personal data).
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &Dir{root: root}, nil
}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)

func (d *Dir) path(key string) (string, error) {
	if !keyRE.MatchString(key) || strings.Contains(key, "..") {
		return "", fmt.Errorf("blob: bad key %q", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

type file struct {
	*os.File
	size int64
}

func (f file) Size() int64 { return f.size }

// Open opens a committed blob.
func (d *Dir) Open(_ context.Context, key string) (File, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return file{f, st.Size()}, nil
}

type writer struct {
	*os.File
	final string
	done  bool
}

// Create starts a new blob under key; committing replaces any blob of that key.
func (d *Dir) Create(_ context.Context, key string) (Writer, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &writer{File: f, final: p}, nil
}

func (w *writer) Commit() error {
	if w.done {
		return errors.New("blob: writer already closed")
	}
	w.done = true
	if err := w.Sync(); err != nil {
		w.File.Close()
		os.Remove(w.Name())
		return fmt.Errorf("blob: %w", err)
	}
	if err := w.File.Close(); err != nil {
		os.Remove(w.Name())
		return fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(w.Name(), w.final); err != nil {
		os.Remove(w.Name())
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

func (w *writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.File.Close()
	os.Remove(w.Name())
}

// Delete removes a blob; a missing one is not an error.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// DeletePrefix removes every blob under a folder key (a request's documents).
func (d *Dir) DeletePrefix(_ context.Context, prefix string) error {
	p, err := d.path(prefix)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// UploadsPrefix is the folder key under which uploads wait for their request to be
// prepared; a request's creation deletes its uploads, so any left longer than a
// creation can take were left by a crash.
const UploadsPrefix = "uploads"

// SweepPartial deletes what a crash can leave behind, when last modified before
// before: temporary files of writers that never committed (".NAME.*.tmp" beside their
// key) and uploads under UploadsPrefix that no request creation consumed. It returns how
// many files it deleted. Pass a time well before any creation still running, on this
// or another replica sharing the folder (an hour ago).
func (d *Dir) SweepPartial(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	uploads := filepath.Join(d.root, UploadsPrefix) + string(filepath.Separator)
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted meanwhile by a request's own clean-up
			}
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if !e.Type().IsRegular() {
			return nil
		}
		name := e.Name()
		partial := strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
		if !partial && !strings.HasPrefix(p, uploads) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		if !info.ModTime().Before(before) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("blob: sweep: %w", err)
	}
	return n, nil
}
