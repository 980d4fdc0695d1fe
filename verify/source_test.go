package verify

import (
	"bytes"
	"context"
	"crypto"
	"math/rand/v2"
	"slices"
	"testing"
)

// revisionEndsInMemory is the plain reading of revisionEnds: the offsets
// just after each %%EOF and its optional end-of-line.
func revisionEndsInMemory(data []byte) []int {
	var ends []int
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("%%EOF"))
		if j < 0 {
			return ends
		}
		e := i + j + 5
		if e < len(data) && data[e] == '\r' {
			e++
		}
		if e < len(data) && data[e] == '\n' {
			e++
		}
		ends = append(ends, e)
		i = e
	}
}

// TestSourceRevisionEnds checks the block-wise scan against the in-memory
// reading, with markers and their end-of-line across block boundaries.
func TestSourceRevisionEnds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		at   []int // offsets of markers
	}{
		{"none", nil},
		{"at the start and the end", []int{0, 3*sourceChunk - 7}},
		{"across every boundary position", []int{sourceChunk - 1, 2*sourceChunk - 2, 3*sourceChunk - 3, 4*sourceChunk - 4, 5*sourceChunk - 5, 6*sourceChunk - 6}},
		{"random", []int{rng.IntN(sourceChunk), sourceChunk + rng.IntN(sourceChunk), 5 * sourceChunk}},
	} {
		for _, eol := range []string{"", "\n", "\r", "\r\n"} {
			t.Run(tc.name+"/"+eolName(eol), func(t *testing.T) {
				data := bytes.Repeat([]byte{'x'}, 7*sourceChunk)
				for _, off := range tc.at {
					copy(data[off:], "%%EOF"+eol)
				}
				want := revisionEndsInMemory(data)
				got, err := source{r: bytes.NewReader(data), size: int64(len(data))}.revisionEnds(context.Background())
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("got %v (%v), want %v", got, err, want)
				}
			})
		}
	}
}

func eolName(eol string) string {
	switch eol {
	case "":
		return "no eol"
	case "\n":
		return "LF"
	case "\r":
		return "CR"
	}
	return "CRLF"
}

// TestSourceRangeDigest checks the streamed digest of two byte ranges and
// that an ended context gives none.
func TestSourceRangeDigest(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), sourceChunk/3)
	src := source{r: bytes.NewReader(data), size: int64(len(data))}
	br := [4]int{0, sourceChunk + 5, sourceChunk + 100, len(data) - sourceChunk - 100}
	h := crypto.SHA256.New()
	h.Write(data[:br[1]])
	h.Write(data[br[2]:])
	if got := src.rangeDigest(context.Background(), br, crypto.SHA256); !bytes.Equal(got, h.Sum(nil)) {
		t.Fatal("streamed digest differs")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := src.rangeDigest(ctx, br, crypto.SHA256); got != nil {
		t.Fatal("digest computed after the context ended")
	}
	if !src.blankFrom(context.Background(), int64(len(data))) || src.blankFrom(context.Background(), 0) {
		t.Fatal("blankFrom is wrong")
	}
}
