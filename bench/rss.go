package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// readStatusKB returns a field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or 0
// where the file does not exist (not Linux).
func readStatusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return parseStatusKB(b, field)
}

// parseStatusKB finds "field:   1234 kB" in the contents of a /proc status file.
func parseStatusKB(b []byte, field string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	prefix := []byte(field + ":")
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		f := bytes.Fields(line[len(prefix):])
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}

// rssSampler records the largest VmRSS seen while it runs. VmHWM cannot be reset by an
// unprivileged process, so each phase samples VmRSS every few milliseconds instead: the
// peak of a phase is then its own, not one left by an earlier phase. A peak shorter than
// the sampling period can be missed; the process's VmHWM bounds it from above.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	peak int64
}

// rssPeriod is the sampling period: short enough to see the peaks of PDF signing, which
// last hundreds of milliseconds, cheap enough (one small file read) not to matter.
const rssPeriod = 5 * time.Millisecond

// startRSS returns the memory Go holds but does not use to the system, then starts a
// sampler, so that the phase starts from what it really needs.
func startRSS() *rssSampler {
	debug.FreeOSMemory()
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{}), peak: readStatusKB("VmRSS")}
	go func() {
		defer close(s.done)
		t := time.NewTicker(rssPeriod)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				v := readStatusKB("VmRSS")
				s.mu.Lock()
				s.peak = max(s.peak, v)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// Stop ends sampling (the first call) and returns the peak in MiB.
func (s *rssSampler) Stop() float64 {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
	})
	v := readStatusKB("VmRSS")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak = max(s.peak, v)
	return round1(float64(s.peak) / 1024)
}
