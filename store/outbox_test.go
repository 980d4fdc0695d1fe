package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paraphe/paraphe/notify"
)

// migrateOutbox creates the outbox tables (idempotent, so harmless once allModels lists
// them too).
func migrateOutbox(t *testing.T, s *Store) {
	t.Helper()
	if err := s.db.AutoMigrate(&webhookDeliveryRow{}, &webhookAttemptRow{}); err != nil {
		t.Fatalf("migrate outbox: %v", err)
	}
}

func outboxEnqueue(t *testing.T, s *Store, requestID, url string, due time.Time) {
	t.Helper()
	d := notify.Delivery{RequestID: requestID, IntegratorID: "int-1", URL: url,
		Body: []byte(`{"id":"` + requestID + `","status":"signed"}`), NextAttemptAt: due, CreatedAt: t0}
	if err := s.EnqueueWebhook(context.Background(), d); err != nil {
		t.Fatalf("EnqueueWebhook %s: %v", requestID, err)
	}
}

func outboxClaim(t *testing.T, s *Store, now time.Time, limit int, lease time.Duration) []notify.Delivery {
	t.Helper()
	ds, err := s.ClaimWebhooks(context.Background(), now, limit, lease, nil)
	if err != nil {
		t.Fatalf("ClaimWebhooks: %v", err)
	}
	return ds
}

func claimedRequests(ds []notify.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.RequestID
	}
	return out
}

func outboxRecord(t *testing.T, s *Store, id int64, a notify.Attempt) {
	t.Helper()
	if err := s.RecordWebhookAttempt(context.Background(), id, a); err != nil {
		t.Fatalf("RecordWebhookAttempt %d: %v", id, err)
	}
}

// TestWebhookClaimSkips: deliveries of the integrators a replica has no room for are
// left for later, and claimed once they are not skipped.
func TestWebhookClaimSkips(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		migrateOutbox(t, s)
		ctx := context.Background()
		for i, integ := range []string{"int-b", "int-b", "int-a", "int-c", "int-b"} {
			d := notify.Delivery{RequestID: fmt.Sprint("r", i), IntegratorID: integ, URL: "https://x.example/cb",
				Body: []byte(`{}`), NextAttemptAt: t0.Add(time.Duration(i) * time.Second), CreatedAt: t0}
			if err := s.EnqueueWebhook(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(time.Minute)
		ds, err := s.ClaimWebhooks(ctx, now, 10, time.Minute, []string{"int-b", "int-c"})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(claimedRequests(ds)) != "[r2]" {
			t.Fatalf("skipping int-b and int-c claimed %v, want [r2]", claimedRequests(ds))
		}
		ds, err = s.ClaimWebhooks(ctx, now, 2, time.Minute, []string{"int-c"})
		if err != nil {
			t.Fatal(err)
		}
		got := claimedRequests(ds)
		if slices.Sort(got); fmt.Sprint(got) != "[r0 r1]" {
			t.Fatalf("skipping int-c claimed %v, want [r0 r1]", got)
		}
		// (PostgreSQL's UPDATE ... RETURNING gives no order.)
		got = claimedRequests(outboxClaim(t, s, now, 10, time.Minute))
		if slices.Sort(got); fmt.Sprint(got) != "[r3 r4]" {
			t.Fatalf("skipping none claimed %v, want [r3 r4]", got)
		}
	})
}

func TestWebhookOutbox(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		migrateOutbox(t, s)
		if !s.db.Migrator().HasIndex(&webhookDeliveryRow{}, "idx_webhook_deliveries_due") {
			t.Fatal("no index for due deliveries")
		}
		ctx := context.Background()
		outboxEnqueue(t, s, "r1", "https://a.example/cb?x=1", t0)
		outboxEnqueue(t, s, "r2", "https://b.example/cb", t0.Add(time.Second))
		outboxEnqueue(t, s, "r3", "https://c.example/cb", t0.Add(time.Hour))
		outboxEnqueue(t, s, "r1", "https://other.example/", t0) // a request has one webhook: ignored

		// Due ones only, oldest first, every field as stored, leased for a minute.
		ds := outboxClaim(t, s, t0.Add(time.Second), 10, time.Minute)
		if fmt.Sprint(claimedRequests(ds)) != "[r1 r2]" {
			t.Fatalf("claimed %v, want [r1 r2]", claimedRequests(ds))
		}
		r1 := ds[0]
		if r1.ID == 0 || r1.IntegratorID != "int-1" || r1.URL != "https://a.example/cb?x=1" ||
			string(r1.Body) != `{"id":"r1","status":"signed"}` || r1.Attempts != 0 || !r1.CreatedAt.Equal(t0) ||
			!r1.NextAttemptAt.Equal(t0.Add(time.Second+time.Minute)) || r1.DeliveredAt != nil || r1.LastError != "" || r1.LastStatus != 0 {
			t.Fatalf("claimed %+v", r1)
		}
		if r1.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt in %v, want UTC", r1.CreatedAt.Location())
		}
		if got := outboxClaim(t, s, t0.Add(time.Minute), 10, time.Minute); len(got) != 0 {
			t.Fatalf("leased deliveries claimed again: %v", claimedRequests(got))
		}
		// A limit is honoured; a lease that ran out (the replica died) gives them back.
		if got := outboxClaim(t, s, t0.Add(time.Second+time.Minute), 1, time.Minute); fmt.Sprint(claimedRequests(got)) != "[r1]" {
			t.Fatalf("after the lease claimed %v, want [r1]", claimedRequests(got))
		}

		// r1 fails and is due again in 5 s; r2 is delivered; r3 is given up.
		at := t0.Add(2 * time.Minute)
		next := at.Add(5 * time.Second)
		outboxRecord(t, s, r1.ID, notify.Attempt{At: at, Status: 503, Error: "receiver answered 503", NextAttemptAt: &next})
		r2 := ds[1]
		outboxRecord(t, s, r2.ID, notify.Attempt{At: at, Status: 204, Delivered: true})
		var r3 int64
		if err := s.db.Model(&webhookDeliveryRow{}).Where("request_id = ?", "r3").Pluck("id", &r3).Error; err != nil {
			t.Fatal(err)
		}
		outboxRecord(t, s, r3, notify.Attempt{At: at, Error: "connection refused"})

		got := outboxClaim(t, s, next, 10, time.Minute)
		if fmt.Sprint(claimedRequests(got)) != "[r1]" || got[0].Attempts != 1 || got[0].LastStatus != 503 ||
			got[0].LastError != "receiver answered 503" {
			t.Fatalf("after the retry delay claimed %+v, want r1 after one attempt", got)
		}
		// A late attempt of an already delivered webhook (its lease ran out) is kept but
		// changes nothing.
		outboxRecord(t, s, r2.ID, notify.Attempt{At: at.Add(time.Second), Error: "timeout", NextAttemptAt: &next})
		if got := outboxClaim(t, s, t0.Add(48*time.Hour), 10, time.Minute); fmt.Sprint(claimedRequests(got)) != "[r1]" {
			t.Fatalf("claimed %v; delivered and given-up webhooks must never come back", claimedRequests(got))
		}

		as, err := s.WebhookAttempts(ctx, "r2")
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 2 || !as[0].Delivered || as[0].Status != 204 || as[0].DeliveryID != r2.ID || !as[0].At.Equal(at) ||
			as[0].NextAttemptAt != nil || as[1].Delivered || as[1].Error != "timeout" || !as[1].NextAttemptAt.Equal(next) {
			t.Fatalf("attempts of r2: %+v", as)
		}
		if as, _ := s.WebhookAttempts(ctx, "r1"); len(as) != 1 || as[0].Status != 503 || !as[0].NextAttemptAt.Equal(next) {
			t.Fatalf("attempts of r1: %+v", as)
		}
		if as, _ := s.WebhookAttempts(ctx, "nope"); len(as) != 0 {
			t.Fatalf("attempts of an unknown request: %+v", as)
		}
		if err := s.RecordWebhookAttempt(ctx, 999999, notify.Attempt{At: at}); !errors.Is(err, notify.ErrNoDelivery) {
			t.Fatalf("attempt of an unknown delivery: %v, want ErrNoDelivery", err)
		}
		if n := count(t, s, &webhookDeliveryRow{}, "request_id = ?", "r1"); n != 1 {
			t.Fatalf("%d deliveries for r1", n)
		}
	})
}

// TestWebhookClaimConcurrent claims from two stores on one database (two replicas), many
// goroutines each: every delivery is handed out exactly once.
func TestWebhookClaimConcurrent(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.config(t)
			a, c := openStore(t, cfg), openStore(t, cfg)
			migrateOutbox(t, a)
			const n = 60
			for i := range n {
				outboxEnqueue(t, a, fmt.Sprint("r", i), "https://example.com/cb", t0)
			}
			var (
				mu  sync.Mutex
				got = map[int64]int{}
				wg  sync.WaitGroup
			)
			errs := make(chan error, 16)
			for _, s := range []*Store{a, c} {
				for range 8 {
					wg.Go(func() {
						for {
							ds, err := s.ClaimWebhooks(context.Background(), t0, 3, time.Hour, nil)
							if err != nil {
								errs <- err
								return
							}
							if len(ds) == 0 {
								return
							}
							mu.Lock()
							for _, d := range ds {
								got[d.ID]++
							}
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("ClaimWebhooks: %v", err)
			}
			if len(got) != n {
				t.Fatalf("%d deliveries claimed, want %d", len(got), n)
			}
			for id, k := range got {
				if k != 1 {
					t.Errorf("delivery %d claimed %d times", id, k)
				}
			}
		})
	}
}

type webhookSecrets map[string]string

func (s webhookSecrets) WebhookSecret(_ context.Context, id string) (string, error) {
	if v, ok := s[id]; ok {
		return v, nil
	}
	return "", errors.New("no such integrator")
}

// webhookReceiver counts webhooks per request id; while failing it answers 503.
type webhookReceiver struct {
	mu      sync.Mutex
	byID    map[string]int
	failing atomic.Bool
	srv     *httptest.Server
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	t.Helper()
	r := &webhookReceiver{byID: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.Header.Get(notify.SignatureHeader) == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		time.Sleep(5 * time.Millisecond) // a receiver doing some work widens any race
		r.mu.Lock()
		r.byID[string(body)]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *webhookReceiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.byID))
	for k, v := range r.byID {
		out[k] = v
	}
	return out
}

// runWebhooks starts w.Run until the test ends.
func runWebhooks(t *testing.T, w *notify.Webhooks) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond for up to 20 s.
func waitOutbox(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func webhookBody(id string) string { return `{"id":"` + id + `","status":"signed"}` }

// TestWebhooksOnceAcrossReplicas runs two delivery loops on two stores sharing one
// database, as two replicas do: each webhook reaches the receiver exactly once.
func TestWebhooksOnceAcrossReplicas(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.config(t)
			rcv := newWebhookReceiver(t)
			stores := []*Store{openStore(t, cfg), openStore(t, cfg)}
			migrateOutbox(t, stores[0])
			sec := webhookSecrets{"int-1": "whsec_a"}
			var ws []*notify.Webhooks
			for _, s := range stores {
				w := notify.NewWebhooks(notify.WebhookDeps{Store: s, Secrets: sec}, notify.WebhookConfig{Policy: notify.CallbackPolicy{AllowLoopback: true}})
				ws = append(ws, w)
				runWebhooks(t, w)
			}
			const n = 40
			ctx := context.Background()
			for i := range n {
				w := ws[i%2]
				if err := w.Enqueue(ctx, "int-1", fmt.Sprint("r", i), rcv.srv.URL+"/cb", "signed"); err != nil {
					t.Fatal(err)
				}
				// Both replicas wake at once and race for the same rows.
				ws[0].Kick()
				ws[1].Kick()
			}
			start := time.Now()
			waitOutbox(t, "every webhook", func() bool { return len(rcv.counts()) == n })
			t.Logf("delivered in %v", time.Since(start))
			// Leave time for a duplicate to arrive: more than one poll of both loops.
			time.Sleep(2500 * time.Millisecond)
			got := rcv.counts()
			for i := range n {
				if k := got[webhookBody(fmt.Sprint("r", i))]; k != 1 {
					t.Errorf("r%d delivered %d times, want once", i, k)
				}
			}
			for i := range n {
				as, err := ws[1].Attempts(ctx, fmt.Sprint("r", i))
				if err != nil {
					t.Fatal(err)
				}
				if len(as) != 1 || !as[0].Delivered {
					t.Errorf("r%d attempts %+v, want one delivered", i, as)
				}
			}
		})
	}
}

// TestWebhooksSurviveRestart: a webhook that failed before a restart is delivered by the
// next process, from the database alone.
func TestWebhooksSurviveRestart(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.config(t)
			rcv := newWebhookReceiver(t)
			rcv.failing.Store(true)
			sec := webhookSecrets{"int-1": "whsec_a"}
			policy := notify.CallbackPolicy{AllowLoopback: true}
			ctx := context.Background()
			now := time.Now().UTC()

			first, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			migrateOutbox(t, first)
			w1 := notify.NewWebhooks(notify.WebhookDeps{Store: first, Secrets: sec, Now: func() time.Time { return now }}, notify.WebhookConfig{Policy: policy})
			stop := runWebhooks(t, w1)
			if err := w1.Enqueue(ctx, "int-1", "r1", rcv.srv.URL, "signed"); err != nil {
				t.Fatal(err)
			}
			w1.Kick()
			waitOutbox(t, "the first attempt", func() bool {
				as, err := w1.Attempts(ctx, "r1")
				return err == nil && len(as) == 1
			})
			stop()
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}

			rcv.failing.Store(false)
			second := openStore(t, cfg)
			later := now.Add(6 * time.Second) // past the first retry delay of 5 s
			w2 := notify.NewWebhooks(notify.WebhookDeps{Store: second, Secrets: sec, Now: func() time.Time { return later }}, notify.WebhookConfig{Policy: policy})
			runWebhooks(t, w2)
			w2.Kick()
			waitOutbox(t, "delivery after the restart", func() bool { return rcv.counts()[webhookBody("r1")] == 1 })
			// The attempt is recorded after the receiver answered: wait for the record too.
			waitOutbox(t, "the delivery's record", func() bool {
				as, err := w2.Attempts(ctx, "r1")
				return err == nil && len(as) == 2
			})
			as, err := w2.Attempts(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if len(as) != 2 || as[0].Delivered || as[0].Status != http.StatusServiceUnavailable || !as[1].Delivered {
				t.Fatalf("attempts %+v, want a 503 then a delivery", as)
			}
		})
	}
}
