package main

import (
	"errors"
	"flag"
	"slices"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args   []string
		pos    []string
		format string
		data   string
	}{
		{[]string{"ID", "--format", "csv"}, []string{"ID"}, "csv", "./data"},
		{[]string{"--format", "csv", "ID"}, []string{"ID"}, "csv", "./data"},
		{[]string{"--data", "/d", "ID", "--format=json"}, []string{"ID"}, "json", "/d"},
		{[]string{"a", "b", "--data", "/x", "c"}, []string{"a", "b", "c"}, "", "/x"},
		{[]string{"--", "--format"}, []string{"--format"}, "", "./data"},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var c common
		c.register(fs)
		format := fs.String("format", "", "")
		pos, err := parseInterleaved(fs, tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if !slices.Equal(pos, tc.pos) || *format != tc.format || c.data != tc.data {
			t.Errorf("%v: pos %v format %q data %q", tc.args, pos, *format, c.data)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if _, err := parseInterleaved(fs, []string{"--nope"}); err == nil {
		t.Error("unknown flag accepted")
	}
}

func TestWantArgs(t *testing.T) {
	var ue usageError
	if err := wantArgs([]string{"a"}, 2, "x"); !errors.As(err, &ue) {
		t.Errorf("too few: %v", err)
	}
	if err := wantArgs([]string{" "}, 1, "x"); !errors.As(err, &ue) {
		t.Errorf("blank argument: %v", err)
	}
	if err := wantArgs([]string{"a", "b"}, 2, "x"); err != nil {
		t.Error(err)
	}
}

func TestRunUsageErrors(t *testing.T) {
	ctx := t.Context()
	for _, args := range [][]string{{}, {"nope"}, {"users", "frobnicate"}, {"integrators", "add"}, {"users", "add", "--given-name", "A"}} {
		err := run(ctx, args)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestHoistGlobalFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		wantErr bool
	}{
		{[]string{"--data", "D", "integrators", "add", "X"}, []string{"integrators", "add", "X", "--data", "D"}, false},
		{[]string{"--data=D", "--config", "c.yaml", "users", "show", "ID"}, []string{"users", "show", "ID", "--data=D", "--config", "c.yaml"}, false},
		{[]string{"-database-url", "postgres://x", "verify", "--", "-f.pdf"}, []string{"verify", "-database-url", "postgres://x", "--", "-f.pdf"}, false},
		{[]string{"integrators", "add", "X", "--data", "D"}, []string{"integrators", "add", "X", "--data", "D"}, false},
		{[]string{"--help"}, []string{"--help"}, false},
		{[]string{"--json", "verify", "f.pdf"}, nil, true},
		{[]string{"--data"}, nil, true},
	}
	for _, tc := range tests {
		got, err := hoistGlobalFlags(tc.args)
		if (err != nil) != tc.wantErr {
			t.Errorf("%v: error %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.args, got, tc.want)
		}
	}
}
