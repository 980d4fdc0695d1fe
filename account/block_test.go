package account

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/errkind"
)

// lookups is a Store that records phone lookups and knows no account.
type lookups struct {
	Store
	mu     sync.Mutex
	phones []string
	seen   chan struct{}
}

func (l *lookups) UsersByPhone(_ context.Context, phone string) ([]*device.User, error) {
	l.mu.Lock()
	l.phones = append(l.phones, phone)
	l.mu.Unlock()
	l.seen <- struct{}{}
	return nil, nil
}

// TestPublicBlocksQueued: the public block request returns before any lookup, the
// queue is bounded (then Unavailable for every caller alike), and RunPublicBlocks does
// the queued work.
func TestPublicBlocksQueued(t *testing.T) {
	st := &lookups{seen: make(chan struct{}, publicBlockQueue+1)}
	s := New(Deps{Store: st, Log: slog.New(slog.DiscardHandler)})
	for range publicBlockQueue {
		if err := s.RequestBlockByPhone("+32470000001", "Alice"); err != nil {
			t.Fatal(err)
		}
	}
	err := s.RequestBlockByPhone("+32470000002", "Bob")
	if !errors.Is(err, ErrBlockQueueFull) || errkind.Of(err) != errkind.Unavailable {
		t.Fatalf("request beyond the queue: %v, want ErrBlockQueueFull (unavailable)", err)
	}
	if len(st.phones) != 0 {
		t.Fatalf("%d lookups before RunPublicBlocks: the request did the work itself", len(st.phones))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunPublicBlocks(ctx); close(done) }()
	for i := range publicBlockQueue {
		select {
		case <-st.seen:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d queued blocks ran", i, publicBlockQueue)
		}
	}
	cancel()
	<-done
	if err := s.RequestBlockByPhone("+32470000002", "Bob"); err != nil {
		t.Fatalf("the queue did not empty: %v", err)
	}
}
