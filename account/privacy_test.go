package account

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/hsm"
)

var t0 = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// fakeStore is a Store and PrivacyStore over one user.
type fakeStore struct {
	user     device.User
	data     *UserData
	eraseErr error
	erased   int
	blocked  int
}

func (f *fakeStore) User(_ context.Context, id string) (*device.User, error) {
	if id != f.user.ID {
		return nil, device.ErrUserNotFound
	}
	u := f.user
	return &u, nil
}
func (f *fakeStore) UsersByPhone(context.Context, string) ([]*device.User, error) { return nil, nil }
func (f *fakeStore) Block(context.Context, string, time.Time) (AccountChange, error) {
	f.blocked++
	return AccountChange{}, nil
}
func (f *fakeStore) Reactivate(context.Context, string, device.Activation, time.Time) (AccountChange, error) {
	return AccountChange{}, nil
}
func (f *fakeStore) UserData(_ context.Context, id string) (*UserData, error) {
	if id != f.user.ID {
		return nil, device.ErrUserNotFound
	}
	return f.data, nil
}
func (f *fakeStore) EraseUser(_ context.Context, id string, _ time.Time) (ErasedRecords, error) {
	if f.eraseErr != nil {
		return ErasedRecords{}, f.eraseErr
	}
	f.erased++
	already := f.user.Status == device.UserErased
	f.user.Status = device.UserErased
	if already {
		return ErasedRecords{AlreadyErased: true}, nil
	}
	return ErasedRecords{OldKeyRef: hsm.LabelRef("key-1"), DeletedDevices: []string{"d1"}, RevokedSerials: []string{"ab12"}}, nil
}

type fakeDevices struct{ dropped []string }

func (f *fakeDevices) NewActivation(userID string) (device.ActivationCode, device.Activation, error) {
	return device.ActivationCode{UserID: userID, Code: "code"}, device.Activation{UserID: userID}, nil
}
func (f *fakeDevices) DropKey(_ context.Context, ref hsm.KeyRef) {
	f.dropped = append(f.dropped, ref.String())
}

type fakeRequests struct{}

func (fakeRequests) CancelPending(context.Context, []string, string, string) error { return nil }

type fakeAudit struct{ events []audit.Event }

func (f *fakeAudit) Record(_ context.Context, ev audit.Event) (audit.Entry, error) {
	f.events = append(f.events, ev)
	return audit.Entry{Event: ev}, nil
}

func newFixture() (*Service, *fakeStore, *fakeDevices, *fakeAudit) {
	fin := t0.Add(time.Minute)
	st := &fakeStore{user: device.User{ID: "u1", Status: device.UserActive}}
	st.data = &UserData{
		User:        &device.User{ID: "u1", GivenName: "Erin", Surname: "Dupont", Email: "erin@example.test", Phone: "+32470001122", Country: "BE", Status: device.UserActive, CreatedAt: t0},
		Devices:     []DeviceData{{ID: "d1", Status: "active", CreatedAt: t0}},
		Activations: []ActivationData{{ExpiresAt: t0.Add(time.Hour), UsedAt: &t0}},
		Requests: []RequestData{{ID: "r1", IntegratorID: "i1", IntegratorName: "Notary, \"Dupont & Co\"", Status: "signed", Format: "CAdES", Level: "B-B",
			Documents: []string{"deed.pdf", "=HYPERLINK(\"http://evil\")"}, CreatedIP: "192.0.2.1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), FinishedAt: &fin}},
		Certificates: []CertificateData{{Serial: "ab12", NotBefore: t0, NotAfter: t0.Add(24 * time.Hour)}},
	}
	dev, aud := &fakeDevices{}, &fakeAudit{}
	return New(Deps{Store: st, Devices: dev, Requests: fakeRequests{}, Audit: aud, Now: func() time.Time { return t0 }}), st, dev, aud
}

func TestExportFormats(t *testing.T) {
	s, _, _, aud := newFixture()
	ex, err := s.Export(context.Background(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(aud.events) != 1 || aud.events[0].Type != audit.UserExported || aud.events[0].Subject != "u1" || len(aud.events[0].Detail) != 0 {
		t.Errorf("audit = %+v, want one user.exported with ids only", aud.events)
	}
	var js bytes.Buffer
	if err := ex.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		User                                   struct{ Email, Phone string }
		Devices, ActivationCodes, Certificates []map[string]any
		Requests                               []struct {
			ID         string
			Integrator struct{ Name string }
			Documents  []string
			ClientIPs  map[string]string `json:"clientIps"`
		}
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if got.User.Email != "erin@example.test" || len(got.Devices) != 1 || len(got.ActivationCodes) != 1 || len(got.Certificates) != 1 ||
		len(got.Requests) != 1 || got.Requests[0].ClientIPs["integrator"] != "192.0.2.1" || len(got.Requests[0].Documents) != 2 {
		t.Errorf("JSON export = %s", js.String())
	}

	var cs bytes.Buffer
	if err := ex.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if strings.Join(rows[0], ",") != "section,id,field,value" {
		t.Errorf("header = %v", rows[0])
	}
	find := func(section, id, field string) []string {
		var out []string
		for _, r := range rows[1:] {
			if r[0] == section && r[1] == id && r[2] == field {
				out = append(out, r[3])
			}
		}
		return out
	}
	for _, c := range []struct {
		section, id, field string
		want               []string
	}{
		{"user", "u1", "email", []string{"erin@example.test"}},
		{"user", "u1", "phone", []string{"'+32470001122"}}, // formula-neutralized
		{"device", "d1", "status", []string{"active"}},
		{"request", "r1", "integratorName", []string{"Notary, \"Dupont & Co\""}},
		{"request", "r1", "document", []string{"deed.pdf", "'=HYPERLINK(\"http://evil\")"}},
		{"request", "r1", "integratorIp", []string{"192.0.2.1"}},
		{"certificate", "ab12", "notAfter", []string{t0.Add(24 * time.Hour).Format(time.RFC3339)}},
	} {
		if got := find(c.section, c.id, c.field); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s %s %s = %q, want %q", c.section, c.id, c.field, got, c.want)
		}
	}
	for _, r := range rows {
		if len(r) != 4 {
			t.Errorf("row %v has %d columns", r, len(r))
		}
	}
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{"": "", "plain": "plain", "=1+1": "'=1+1", "+32": "'+32", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "a=b": "a=b"} {
		if got := neutralize(in); got != want {
			t.Errorf("neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErase(t *testing.T) {
	ctx := context.Background()
	t.Run("refused with open requests", func(t *testing.T) {
		s, st, dev, aud := newFixture()
		st.eraseErr = ErrOpenRequests
		if _, err := s.Erase(ctx, "u1"); !errors.Is(err, ErrOpenRequests) {
			t.Fatalf("Erase = %v, want ErrOpenRequests", err)
		}
		if len(aud.events) != 0 || len(dev.dropped) != 0 {
			t.Errorf("a refused erasure recorded %v and dropped %v", aud.events, dev.dropped)
		}
	})
	t.Run("erases, drops the key, audits ids only", func(t *testing.T) {
		s, _, dev, aud := newFixture()
		out, err := s.Erase(ctx, "u1")
		if err != nil || out.AlreadyErased || len(out.DeletedDevices) != 1 {
			t.Fatalf("Erase = %+v, %v", out, err)
		}
		if len(dev.dropped) != 1 || dev.dropped[0] != "key-1" {
			t.Errorf("dropped keys %v", dev.dropped)
		}
		if len(aud.events) != 2 || aud.events[0].Type != audit.UserErased || aud.events[1].Type != audit.CertificateRevoked {
			t.Fatalf("audit = %+v", aud.events)
		}
		for _, ev := range aud.events {
			for k, v := range ev.Detail {
				if strings.Contains(v, "@") || strings.Contains(v, "Erin") {
					t.Errorf("audit detail %s=%q holds personal data", k, v)
				}
			}
		}
		again, err := s.Erase(ctx, "u1")
		if err != nil || !again.AlreadyErased || len(aud.events) != 2 || len(dev.dropped) != 1 {
			t.Errorf("second Erase = %+v, %v (audit %d, dropped %d)", again, err, len(aud.events), len(dev.dropped))
		}
		if err := s.Block(ctx, "u1", audit.Operator); !errors.Is(err, ErrErased) {
			t.Errorf("Block(erased) = %v, want ErrErased", err)
		}
		if _, err := s.Reactivate(ctx, "u1"); !errors.Is(err, ErrErased) {
			t.Errorf("Reactivate(erased) = %v, want ErrErased", err)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		s, st, _, _ := newFixture()
		st.eraseErr = device.ErrUserNotFound
		if _, err := s.Erase(ctx, "nobody"); !errors.Is(err, device.ErrUserNotFound) {
			t.Errorf("Erase(unknown) = %v", err)
		}
	})
}
