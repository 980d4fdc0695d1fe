package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/webpush"
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

// TestPushSubscriptions: the subscriptions of a user's active devices, oldest first;
// a revoked device's are left out.
func TestPushSubscriptions(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, d := range []deviceRow{
			{ID: "dev-a", UserID: "u1", PublicKey: []byte{1}, Status: string(device.DeviceActive), CreatedAt: t0},
			{ID: "dev-r", UserID: "u1", PublicKey: []byte{2}, Status: string(device.DeviceRevoked), CreatedAt: t0},
		} {
			if err := s.db.Create(&d).Error; err != nil {
				t.Fatal(err)
			}
		}
		subs := []webpush.Subscription{
			{Endpoint: "https://push.example/2", UserID: "u1", DeviceID: "dev-a", P256DH: []byte("k2"), Auth: []byte("a2"), CreatedAt: t0.Add(time.Second)},
			{Endpoint: "https://push.example/1", UserID: "u1", DeviceID: "dev-a", P256DH: []byte("k1"), Auth: []byte("a1"), CreatedAt: t0},
			{Endpoint: "https://push.example/r", UserID: "u1", DeviceID: "dev-r", P256DH: []byte("kr"), Auth: []byte("ar"), CreatedAt: t0},
		}
		for _, sub := range subs {
			if err := s.SavePushSubscription(ctx, sub); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.PushSubscriptions(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Endpoint != "https://push.example/1" || got[1].Endpoint != "https://push.example/2" ||
			string(got[0].P256DH) != "k1" || string(got[1].Auth) != "a2" || got[0].DeviceID != "dev-a" || got[0].UserID != "u1" ||
			!got[0].CreatedAt.Equal(t0) {
			t.Fatalf("PushSubscriptions = %+v", got)
		}
		if none, err := s.PushSubscriptions(ctx, "u2"); err != nil || none == nil || len(none) != 0 {
			t.Fatalf("PushSubscriptions of a user without any = %#v, %v; want an empty list", none, err)
		}
	})
}

// TestRequestReadersAgree: the hand-written readers (Request, RequestHead) give the same
// request as a GORM read of the row, for a row whose every column holds a distinct
// non-zero value; a field of requestRow that toRequest uses but requestColumns or
// requestDest leave out shows up here as a zero value on the hand-written side.
func TestRequestReadersAgree(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		row := filledRequestRow(t)
		if err := s.db.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		var back requestRow
		if err := s.db.First(&back, "id = ?", row.ID).Error; err != nil {
			t.Fatal(err)
		}
		want, err := toRequest(back, nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, read := range map[string]func(context.Context, string) (*signer.Request, error){
			"Request": s.Request, "RequestHead": s.RequestHead,
		} {
			got, err := read(ctx, row.ID)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if g, w := requestJSON(t, got), requestJSON(t, want); g != w {
				t.Errorf("%s:\n got %s\nwant %s", name, g, w)
			}
		}
	})
}

// filledRequestRow gives every field of requestRow a distinct non-zero value (strings
// short enough for the narrowest column), so that the test needs no change when a
// column is added.
func filledRequestRow(t *testing.T) requestRow {
	t.Helper()
	var row requestRow
	v := reflect.ValueOf(&row).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		at := t0.Add(time.Duration(i+1) * time.Hour)
		switch f.Interface().(type) {
		case string:
			f.SetString(fmt.Sprintf("v%d", i))
		case int, int64:
			f.SetInt(int64(i + 1))
		case time.Time:
			f.Set(reflect.ValueOf(at))
		case *time.Time:
			f.Set(reflect.ValueOf(&at))
		default:
			t.Fatalf("filledRequestRow: field %s of type %s: say how to fill it", v.Type().Field(i).Name, f.Type())
		}
	}
	row.IconChoices = "a,b,c"
	return row
}

// requestJSON renders a request with its times in UTC, for comparison.
func requestJSON(t *testing.T, r *signer.Request) string {
	t.Helper()
	c := *r
	utc := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		u := p.UTC()
		return &u
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	c.ApprovedAt, c.FinishedAt, c.AuthorizedUntil = utc(c.ApprovedAt), utc(c.FinishedAt), utc(c.AuthorizedUntil)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
