package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
)

// stepClock returns a clock advancing one millisecond per call, safe for concurrent use.
func stepClock() func() time.Time {
	var (
		mu  sync.Mutex
		now = t0
	)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond + 7*time.Microsecond)
		return now
	}
}

func TestAuditChain(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		log := audit.New(audit.Deps{Store: s, Now: stepClock()})
		events := []audit.Event{
			{Type: audit.UserCreated, Actor: audit.Operator, Subject: "u1"},
			{Type: audit.RequestCreated, Actor: audit.Integrator("i1"), RequestID: "r1", Subject: "u1", Detail: map[string]string{"documents": "3", "level": "B-B"}},
			{Type: audit.RequestApproved, Actor: audit.Device("d1"), RequestID: "r1", Detail: map[string]string{}},
			{Type: audit.RequestSigned, Actor: audit.System, RequestID: "r1"},
		}
		var recorded []audit.Entry
		for _, ev := range events {
			e, err := log.Record(ctx, ev)
			if err != nil {
				t.Fatalf("Record: %v", err)
			}
			recorded = append(recorded, e)
		}
		got, err := s.AuditEntries(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(events) {
			t.Fatalf("%d entries, want %d", len(got), len(events))
		}
		for i, e := range got {
			if e.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d", i, e.Seq)
			}
			var prev []byte
			if i > 0 {
				prev = got[i-1].Hash
			}
			if !bytes.Equal(e.PrevHash, prev) {
				t.Fatalf("entry %d prev hash %x, want %x", e.Seq, e.PrevHash, prev)
			}
			if !bytes.Equal(e.Hash, e.ComputeHash()) || !bytes.Equal(e.Hash, recorded[i].Hash) {
				t.Fatalf("entry %d stored hash does not match its content", e.Seq)
			}
			if !e.Time.Equal(recorded[i].Time) || e.Event.Type != events[i].Type || e.Event.Actor != events[i].Actor ||
				e.Event.RequestID != events[i].RequestID || e.Event.Subject != events[i].Subject || len(e.Event.Detail) != len(events[i].Detail) {
				t.Fatalf("entry %d = %+v, want event %+v", e.Seq, e, events[i])
			}
			for k, v := range events[i].Detail {
				if e.Event.Detail[k] != v {
					t.Fatalf("entry %d detail %q = %q, want %q", e.Seq, k, e.Event.Detail[k], v)
				}
			}
		}
		page, err := s.AuditEntries(ctx, 2, 1)
		if err != nil || len(page) != 1 || page[0].Seq != 3 {
			t.Fatalf("AuditEntries(2, 1) = %v, %v", page, err)
		}
		if n, err := log.Verify(ctx); err != nil || n != int64(len(events)) {
			t.Fatalf("Verify = %d, %v", n, err)
		}
	})
}

func TestAuditConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		log := audit.New(audit.Deps{Store: s, Now: stepClock()})
		const n = 40
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = log.Record(ctx, audit.Event{Type: audit.PINFailed, Actor: audit.Device(fmt.Sprint("d", i)), Subject: "u1"})
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
		if c, err := log.Verify(ctx); err != nil || c != n {
			t.Fatalf("Verify = %d, %v; want %d, nil", c, err, n)
		}
		if c := count(t, s, &auditRow{}, "1 = 1"); c != n {
			t.Fatalf("%d rows, want %d", c, n)
		}
	})
}

func TestAuditTamper(t *testing.T) {
	tests := []struct {
		name    string
		tamper  string
		wantSeq int64
	}{
		{"content changed", "UPDATE audit_log SET actor = 'device:evil' WHERE seq = 3", 3},
		{"detail changed", "UPDATE audit_log SET detail = '{\"n\":\"9\"}' WHERE seq = 4", 4},
		{"entry deleted", "DELETE FROM audit_log WHERE seq = 2", 3},
		{"hash rewritten", "UPDATE audit_log SET hash = prev_hash WHERE seq = 3", 3},
		{"last entry changed", "UPDATE audit_log SET type = 'x' WHERE seq = 5", 5},
	}
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if err := s.db.Exec("DELETE FROM audit_log").Error; err != nil {
					t.Fatal(err)
				}
				log := audit.New(audit.Deps{Store: s, Now: stepClock()})
				for i := range 5 {
					if _, err := log.Record(ctx, audit.Event{Type: audit.PINFailed, Actor: audit.Device("d1"), Detail: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := log.Verify(ctx); err != nil {
					t.Fatalf("Verify before tampering: %v", err)
				}
				if err := s.db.Exec(tc.tamper).Error; err != nil {
					t.Fatalf("tamper: %v", err)
				}
				_, err := log.Verify(ctx)
				var broken *audit.BrokenError
				if !errors.As(err, &broken) {
					t.Fatalf("Verify after tampering: %v, want *audit.BrokenError", err)
				}
				if broken.Seq != tc.wantSeq {
					t.Fatalf("broken at %d (%s), want %d", broken.Seq, broken.Reason, tc.wantSeq)
				}
			})
		}
	})
}
