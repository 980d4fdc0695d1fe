package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsNeedingTheCAWaitForServe: on a data folder that paraphe serve never
// started, the commands that build the domain stop and say so, and create nothing: the
// CA is made by serve, with the URLs it serves.
func TestCommandsNeedingTheCAWaitForServe(t *testing.T) {
	tests := [][]string{
		{"users", "add", "--given-name", "A", "--surname", "B", "--email", "a@example.test", "--phone", "+32470123456"},
		{"users", "block", "some-id"},
		{"users", "export", "some-id"},
		{"evidence", "some-id"},
		{"keys", "migrate"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			err := run(context.Background(), append(args, "--data", data))
			if err == nil || !strings.Contains(err.Error(), "run paraphe serve once") {
				t.Fatalf("err = %v, want a pointer to paraphe serve", err)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the data folder was created (%v)", err)
			}
		})
	}
}
