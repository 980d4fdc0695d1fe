package store

import (
	"slices"
	"sync"
	"testing"

	"gorm.io/gorm/schema"
)

// TestInsertColumnsCoverModels: CreateRequest's plain INSERTs name every column of the
// models, so that a column added to a model is not left NULL by them unnoticed.
func TestInsertColumnsCoverModels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model any
		cols  []string
	}{
		{"signature_requests", &requestRow{}, requestInsertColumns},
		{"signature_documents", &documentRow{}, documentInsertColumns},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sch, err := schema.Parse(tc.model, &sync.Map{}, schema.NamingStrategy{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sch.DBNames, tc.cols) {
				t.Fatalf("model columns %v, insert names %v", sch.DBNames, tc.cols)
			}
		})
	}
}

func TestNumberPlaceholders(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
	} {
		if got := numberPlaceholders(tc.in); got != tc.want {
			t.Errorf("numberPlaceholders(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
