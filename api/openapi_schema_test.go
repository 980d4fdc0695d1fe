package api

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPISchemasMatchTypes keeps the documented response bodies true: every JSON
// field the handlers write is a property of its schema, and every property of the schema
// is a field they write.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name, v := range map[string]any{
		"SignatureRequest":  requestOut{},
		"Evidence":          EvidenceRecord{},
		"WebhookDelivery":   attemptOut{},
		"DeviceRequest":     pendingOut{},
		"HistoryEntry":      historyItem{},
		"Problem":           Problem{},
		"CreateHashRequest": createIn{},
		"ApproveRequest":    approveIn{},
		"EnrollRequest":     enrollIn{},
		"PINChange":         changePINIn{},
		"BlockRequest":      blockIn{},
		// The CSC API.
		"CSCError":            cscErrorOut{},
		"CSCInfo":             cscInfoOut{},
		"CSCMetadata":         cscMetadataOut{},
		"CSCToken":            cscTokenOut{},
		"CSCListRequest":      cscListIn{},
		"CSCList":             cscListOut{},
		"CSCInfoRequest":      cscInfoIn{},
		"CSCAuthorizeRequest": cscCredAuthorizeIn{},
		"CSCHandleRequest":    cscHandleIn{},
		"CSCHandle":           cscHandleOut{},
		"CSCSAD":              cscSADOut{},
		"CSCExtendRequest":    cscExtendIn{},
		"CSCSignHashRequest":  cscSignHashIn{},
		"CSCSignatures":       cscSignaturesOut{},
		"CSCResponseID":       cscResponseOut{},
		"CSCSignDocRequest":   cscSignDocIn{},
		"CSCSignDoc":          cscSignDocOut{},
		"CSCTimestampRequest": cscTimestampIn{},
		"CSCTimestamp":        cscTimestampOut{},
	} {
		t.Run(name, func(t *testing.T) {
			s, ok := schemas[name].(map[string]any)
			if !ok {
				t.Fatalf("no schema %s", name)
			}
			props, _ := s["properties"].(map[string]any)
			var documented []string
			for p := range props {
				documented = append(documented, p)
			}
			written := jsonFields(reflect.TypeOf(v))
			slices.Sort(documented)
			for _, f := range written {
				if !slices.Contains(documented, f) {
					t.Errorf("field %q is written but not in the schema", f)
				}
			}
			for _, p := range documented {
				if !slices.Contains(written, p) {
					t.Errorf("property %q is documented but not written", p)
				}
			}
		})
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out = append(out, tag)
	}
	return out
}
