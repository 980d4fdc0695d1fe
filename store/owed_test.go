package store

import (
	"context"
	"testing"
	"time"

	"github.com/paraphe/paraphe/notify"
	"github.com/paraphe/paraphe/signer"
)

func TestOwedWebhooks(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, id := range []string{"owed", "queued", "pending", "recent"} {
			mustCreate(t, s, newRequest(id, "u", 1, now.Add(-time.Hour), now.Add(time.Hour)))
		}
		end := func(id string, at time.Time) {
			if ok, err := s.Transition(ctx, id, []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusRefused, At: at}); !ok || err != nil {
				t.Fatalf("%s: %v %v", id, ok, err)
			}
		}
		end("owed", now.Add(-time.Minute))
		end("queued", now.Add(-time.Minute))
		end("recent", now)
		if err := s.EnqueueWebhook(ctx, notify.Delivery{RequestID: "queued", IntegratorID: "int-1", URL: "https://example.test/cb",
			Body: []byte(`{}`), NextAttemptAt: now, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		owed, err := s.OwedWebhooks(ctx, now.Add(-10*time.Second), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(owed) != 1 || owed[0].RequestID != "owed" || owed[0].Status != "refused" || owed[0].URL == "" {
			t.Fatalf("owed = %+v", owed)
		}
	})
}
