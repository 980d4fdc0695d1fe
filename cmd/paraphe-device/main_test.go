package main

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestParseFlagsAnywhere(t *testing.T) {
	o, pos, err := parse([]string{"--state", "s.json", "approve", "--icon", "sun", "--pin", "71294", "REQ"})
	if err != nil {
		t.Fatal(err)
	}
	if o.state != "s.json" || o.icon != "sun" || o.pin != "71294" || !slices.Equal(pos, []string{"approve", "REQ"}) {
		t.Fatalf("%+v %v", o, pos)
	}
	o, pos, err = parse([]string{"pending", "--wait", "1s"})
	if err != nil || o.wait != time.Second || !slices.Equal(pos, []string{"pending"}) {
		t.Fatalf("%+v %v %v", o, pos, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{}, {"frobnicate"}, {"enroll", "--server", "http://x"}, {"approve", "ID"}, {"approve", "--icon", "sun", "--pin", "71294"},
		{"refuse"}, {"pending", "extra"}, {"history", "--limit", "0"}, {"change-pin", "--pin", "71294"}, {"--bogus"},
	} {
		var ue usageError
		if err := run(t.Context(), args, &bytes.Buffer{}); !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestNoStateIsAClearError(t *testing.T) {
	err := run(t.Context(), []string{"--state", t.TempDir() + "/none.json", "pending"}, &bytes.Buffer{})
	var ue usageError
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("missing state: %v", err)
	}
}
