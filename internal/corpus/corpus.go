// Package corpus reads the shared test corpus's manifests (../shared/corpus: real PDFs
// from other projects with their expected outcomes). Only tests use it; the corpus
// itself is never copied into the repository.
package corpus

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File is one manifest entry: the file name (in the manifest's folder) and the outcome
// its source project expects.
type File struct {
	Name     string
	Expected string
}

// ErrAbsent is returned when the corpus is not there; tests skip then.
var ErrAbsent = errors.New("corpus: shared corpus absent")

// Manifest reads dir/MANIFEST.tsv (tab-separated, a header line, the file name in the
// first column and the expected outcome in the sixth).
func Manifest(dir string) ([]File, error) {
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", ErrAbsent, err)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("corpus: empty manifest")
	}
	out := make([]File, 0, len(rows)-1)
	for _, row := range rows[1:] {
		if len(row) < 6 {
			return nil, fmt.Errorf("corpus: short manifest row %q", row)
		}
		out = append(out, File{Name: row[0], Expected: row[5]})
	}
	return out, nil
}
