package signer

import (
	"strings"
	"testing"
)

func TestCheckDocName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", "contract.pdf", true},
		{"accents and spaces", "Contrat de bail — Élodie Dupré.pdf", true},
		{"right-to-left script", "عقد.pdf", true},
		{"CJK", "契約書.pdf", true},
		{"emoji", "📄 lease.pdf", true},
		{"empty", "", false},
		{"too long", strings.Repeat("é", 256), false},
		{"longest", strings.Repeat("é", 255), true},
		{"invalid UTF-8", "bad\xff.pdf", false},
		{"NUL", "a\x00.pdf", false},
		{"newline", "a\nb.pdf", false},
		{"DEL", "a\x7f.pdf", false},
		{"C1 control", "a\u0085.pdf", false},
		{"right-to-left override", "invoice\u202efdp.exe", false},
		{"left-to-right embedding", "a\u202ab.pdf", false},
		{"pop directional formatting", "a\u202cb.pdf", false},
		{"right-to-left isolate", "a\u2067b.pdf", false},
		{"pop directional isolate", "a\u2069b.pdf", false},
		{"right-to-left mark", "a\u200fb.pdf", false},
		{"Arabic letter mark", "a\u061cb.pdf", false},
		{"zero-width space", "con\u200btract.pdf", false},
		{"zero-width joiner", "a\u200db.pdf", false},
		{"word joiner", "a\u2060b.pdf", false},
		{"byte order mark", "\ufeffcontract.pdf", false},
		{"soft hyphen", "con\u00adtract.pdf", false},
		{"line separator", "a\u2028b.pdf", false},
		{"private use", "a\ue000b.pdf", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDocName(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("checkDocName(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}
