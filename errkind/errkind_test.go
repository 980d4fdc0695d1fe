package errkind

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	errGone := New(NotFound, "x: gone")
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"sentinel", errGone, NotFound},
		{"wrapped sentinel", fmt.Errorf("y: %w", errGone), NotFound},
		{"twice wrapped", fmt.Errorf("z: %w", fmt.Errorf("y: %w", errGone)), NotFound},
		{"plain error", errors.New("boom"), Internal},
		{"nil", nil, Internal},
		{"classified", Wrap(Unavailable, context.DeadlineExceeded), Unavailable},
		{"outer kind wins", Wrap(Upstream, fmt.Errorf("a: %w", errGone)), Upstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Fatalf("Of = %v, want %v", got, tt.want)
			}
		})
	}
	if !errors.Is(fmt.Errorf("y: %w", errGone), errGone) || errors.Is(New(NotFound, "x: gone"), errGone) {
		t.Fatal("sentinels must compare by identity")
	}
	if w := Wrap(Unavailable, context.Canceled); !errors.Is(w, context.Canceled) || w.Error() != context.Canceled.Error() {
		t.Fatal("Wrap must keep the wrapped error")
	}
	if Wrap(Invalid, nil) != nil {
		t.Fatal("Wrap(nil) is not nil")
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for k := Internal; k <= Upstream; k++ {
		n := k.String()
		if n == "" || seen[n] {
			t.Fatalf("kind %d: name %q", k, n)
		}
		seen[n] = true
	}
	if Kind(99).String() != "internal" {
		t.Fatal("an unknown kind must read internal")
	}
}
