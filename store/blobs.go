package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/paraphe/paraphe/blob"
)

// Blobs in the database, for replicas that share no folder: a document is split in
// chunks of blobChunk bytes, so neither writing nor reading a 50 MB PDF holds more than
// one chunk in memory on the database side or here.
const blobChunk = 1 << 20

type blobRow struct {
	Key       string `gorm:"primaryKey;size:300"`
	Size      int64  `gorm:"not null"`
	CreatedAt time.Time
}

func (blobRow) TableName() string { return "blobs" }

type blobChunkRow struct {
	Key  string `gorm:"primaryKey;size:300"`
	Idx  int    `gorm:"primaryKey"`
	Data []byte `gorm:"not null"`
}

func (blobChunkRow) TableName() string { return "blob_chunks" }

// DBBlobs keeps blobs in the store's database. It is safe for concurrent use.
type DBBlobs struct {
	db     *gorm.DB
	tmpDir string
}

// Blobs returns a blob store in this database; tmpDir holds files being written.
func (s *Store) Blobs(tmpDir string) (*DBBlobs, error) {
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: blobs: %w", err)
	}
	return &DBBlobs{db: s.db, tmpDir: tmpDir}, nil
}

type dbWriter struct {
	*os.File
	b    *DBBlobs
	ctx  context.Context
	key  string
	done bool
}

// Create starts a blob; it is uploaded, in chunks and in one transaction, at Commit.
func (b *DBBlobs) Create(ctx context.Context, key string) (blob.Writer, error) {
	if key == "" || len(key) > 300 {
		return nil, fmt.Errorf("blob: bad key %q", key)
	}
	f, err := os.CreateTemp(b.tmpDir, "blob-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &dbWriter{File: f, b: b, ctx: ctx, key: key}, nil
}

func (w *dbWriter) Commit() error {
	if w.done {
		return errors.New("blob: writer already closed")
	}
	w.done = true
	defer func() { w.File.Close(); os.Remove(w.Name()) }()
	st, err := w.Stat()
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return w.b.db.WithContext(w.ctx).Transaction(func(tx *gorm.DB) error {
		if err := deleteBlob(tx, w.key); err != nil {
			return err
		}
		buf := make([]byte, blobChunk)
		for i, off := 0, int64(0); off < st.Size(); i, off = i+1, off+blobChunk {
			n, err := w.ReadAt(buf, off)
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if err := tx.Create(&blobChunkRow{Key: w.key, Idx: i, Data: buf[:n]}).Error; err != nil {
				return err
			}
		}
		return tx.Create(&blobRow{Key: w.key, Size: st.Size(), CreatedAt: time.Now().UTC()}).Error
	})
}

func (w *dbWriter) Abort() {
	if !w.done {
		w.done = true
		w.File.Close()
		os.Remove(w.Name())
	}
}

func deleteBlob(tx *gorm.DB, key string) error {
	if err := tx.Where("key = ?", key).Delete(&blobChunkRow{}).Error; err != nil {
		return err
	}
	return tx.Where("key = ?", key).Delete(&blobRow{}).Error
}

// Open opens a committed blob; reads fetch one chunk at a time.
func (b *DBBlobs) Open(ctx context.Context, key string) (blob.File, error) {
	var r blobRow
	err := b.db.WithContext(ctx).Where("key = ?", key).Take(&r).Error
	if isNotFound(err) {
		return nil, fmt.Errorf("%w: %s", blob.ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	f := &dbFile{db: b.db, ctx: ctx, key: key, size: r.Size, cached: -1}
	f.SectionReader = io.NewSectionReader(f.at(), 0, r.Size)
	return f, nil
}

type dbFile struct {
	*io.SectionReader
	db   *gorm.DB
	ctx  context.Context
	key  string
	size int64

	mu     sync.Mutex
	cached int
	chunk  []byte
}

type readerAtFunc func(p []byte, off int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

func (f *dbFile) at() io.ReaderAt { return readerAtFunc(f.readAt) }

func (f *dbFile) readAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("blob: negative offset")
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= f.size {
			return n, io.EOF
		}
		c, err := f.load(int(pos / blobChunk))
		if err != nil {
			return n, err
		}
		n += copy(p[n:], c[pos%blobChunk:])
	}
	return n, nil
}

func (f *dbFile) load(idx int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cached == idx {
		return f.chunk, nil
	}
	var r blobChunkRow
	if err := f.db.WithContext(f.ctx).Where("key = ? AND idx = ?", f.key, idx).Take(&r).Error; err != nil {
		return nil, fmt.Errorf("blob: chunk %d of %s: %w", idx, f.key, err)
	}
	f.cached, f.chunk = idx, r.Data
	return r.Data, nil
}

func (f *dbFile) Size() int64  { return f.size }
func (f *dbFile) Close() error { return nil }

// Delete removes a blob; a missing one is not an error.
func (b *DBBlobs) Delete(ctx context.Context, key string) error {
	return b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return deleteBlob(tx, key) })
}

// DeletePrefix removes every blob whose key starts with prefix + "/".
func (b *DBBlobs) DeletePrefix(ctx context.Context, prefix string) error {
	like := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(prefix) + "/%"
	return b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where(`key LIKE ? ESCAPE '\'`, like).Delete(&blobChunkRow{}).Error; err != nil {
			return err
		}
		return tx.Where(`key LIKE ? ESCAPE '\'`, like).Delete(&blobRow{}).Error
	})
}

// SweepPartial deletes what a crash can leave behind, when older than before: the
// temporary files of writers that never committed, and uploads (blob.UploadsPrefix)
// that no request creation consumed. It returns how many it deleted.
func (b *DBBlobs) SweepPartial(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	entries, err := os.ReadDir(b.tmpDir)
	if err != nil {
		return 0, fmt.Errorf("store: blob sweep: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), "blob-") || !strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(filepath.Join(b.tmpDir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("store: blob sweep: %w", err)
		}
		n++
	}
	var keys []string
	if err := b.db.WithContext(ctx).Model(&blobRow{}).Where(`key LIKE ? AND created_at < ?`, blob.UploadsPrefix+"/%", before.UTC()).
		Limit(1000).Pluck("key", &keys).Error; err != nil {
		return n, fmt.Errorf("store: blob sweep: %w", err)
	}
	for _, k := range keys {
		if err := b.Delete(ctx, k); err != nil {
			return n, fmt.Errorf("store: blob sweep: %w", err)
		}
		n++
	}
	return n, nil
}
