package icons

import (
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io"
	"math/big"
)

//go:embed svg/*.svg
var files embed.FS

// Icon is one pictogram of the icon check.
type Icon struct {
	// ID is a stable lowercase ASCII slug such as "sun"; it names the file svg/<ID>.svg.
	ID string
	// Label is the human-readable name, such as "Sun", for screen readers and logs.
	Label string
}

// catalogue lists every icon in a stable order. Each entry has a drawing in svg/.
var catalogue = []Icon{
	{ID: "sun", Label: "Sun"},
	{ID: "moon", Label: "Moon"},
	{ID: "star", Label: "Star"},
	{ID: "heart", Label: "Heart"},
	{ID: "house", Label: "House"},
	{ID: "tree", Label: "Tree"},
	{ID: "key", Label: "Key"},
	{ID: "bell", Label: "Bell"},
	{ID: "fish", Label: "Fish"},
	{ID: "anchor", Label: "Anchor"},
	{ID: "umbrella", Label: "Umbrella"},
	{ID: "cup", Label: "Cup"},
	{ID: "leaf", Label: "Leaf"},
	{ID: "flag", Label: "Flag"},
	{ID: "boat", Label: "Boat"},
	{ID: "cloud", Label: "Cloud"},
	{ID: "drop", Label: "Drop"},
	{ID: "flower", Label: "Flower"},
	{ID: "mushroom", Label: "Mushroom"},
	{ID: "carrot", Label: "Carrot"},
	{ID: "snowflake", Label: "Snowflake"},
	{ID: "crown", Label: "Crown"},
	{ID: "ice-cream", Label: "Ice cream"},
	{ID: "bicycle", Label: "Bicycle"},
}

// ErrChoiceCount is returned by Choose when the number of choices asked for is below 2 or
// above the number of icons.
var ErrChoiceCount = errors.New("icons: number of choices out of range")

// All returns every icon in a stable order. The caller may modify the returned slice.
func All() []Icon {
	out := make([]Icon, len(catalogue))
	copy(out, catalogue)
	return out
}

// Lookup returns the icon with the given ID and whether it exists.
func Lookup(id string) (Icon, bool) {
	for _, ic := range catalogue {
		if ic.ID == id {
			return ic, true
		}
	}
	return Icon{}, false
}

// SVG returns the SVG document of the icon with the given ID and whether it exists. The
// caller owns the returned bytes.
func SVG(id string) ([]byte, bool) {
	// Only catalogue IDs reach the file system, so id cannot name another path.
	if _, ok := Lookup(id); !ok {
		return nil, false
	}
	b, err := files.ReadFile("svg/" + id + ".svg")
	if err != nil {
		return nil, false
	}
	return b, true
}

// Choose draws the right icon uniformly at random and n-1 distinct decoys uniformly among
// the others, and returns the right icon and the n choices in random order (the right one
// at a uniformly random position). It uses crypto/rand. n must be between 2 and len(All());
// otherwise the error wraps ErrChoiceCount.
func Choose(n int) (right Icon, choices []Icon, err error) {
	return choose(rand.Reader, n)
}

// choose is Choose with the randomness source injected, so tests can make it fail.
func choose(r io.Reader, n int) (Icon, []Icon, error) {
	if n < 2 || n > len(catalogue) {
		return Icon{}, nil, fmt.Errorf("%w: %d (want 2..%d)", ErrChoiceCount, n, len(catalogue))
	}
	// A partial Fisher-Yates shuffle: the first n entries are a uniformly random ordered
	// n-subset of the catalogue, so picking a uniform position among them gives a uniform
	// right icon, uniform decoys and a uniform position for the right one.
	pool := All()
	for i := range n {
		j, err := intn(r, len(pool)-i)
		if err != nil {
			return Icon{}, nil, err
		}
		pool[i], pool[i+j] = pool[i+j], pool[i]
	}
	choices := pool[:n:n]
	k, err := intn(r, n)
	if err != nil {
		return Icon{}, nil, err
	}
	return choices[k], choices, nil
}

// intn returns a uniform integer in [0, n) read from r.
func intn(r io.Reader, n int) (int, error) {
	v, err := rand.Int(r, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("icons: drawing random number: %w", err)
	}
	return int(v.Int64()), nil
}
