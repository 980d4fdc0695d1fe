package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/internal/testenv"
)

// BenchmarkBatchApprove measures what the batch row of `paraphe bench` measures, one
// approval of BatchDocuments hash documents at B-B over HTTP (PIN, device signature,
// HSM signatures, CMS, results stored), without the other phases around it, so that a
// CPU profile (-cpuprofile) shows the approval alone. Both key types share one data
// folder, as in the bench (SoftHSM binds to one configuration per process).
//
//	go test ./bench -run '^$' -bench BatchApprove -benchtime 10x -cpuprofile /tmp/batch.prof
func BenchmarkBatchApprove(b *testing.B) {
	if _, err := hsm.FindSoftHSMModule(); err != nil {
		testenv.Missing(b, "SoftHSM2 is not installed (apt-get install softhsm2): %v", err)
	}
	dataDir := filepath.Join(b.TempDir(), "data")
	// The raw rate on the same token, as the bench measures it first, so that the
	// ratio can be read on a machine whose load moves the absolute numbers.
	hcfg, err := hsm.InitSoftHSM(context.Background(), filepath.Join(dataDir, "hsm"), "paraphe")
	if err != nil {
		b.Fatal(err)
	}
	raw, err := measureRaw(context.Background(), hcfg, []int{2, 4}, 500*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	for _, kt := range []struct {
		name string
		typ  hsm.KeyType
	}{{P256, hsm.ECP256}, {RSA3072, hsm.RSA3072}} {
		b.Run(kt.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := startService(ctx, serviceConfig{dataDir: dataDir, keyType: kt.typ, maxPending: 5, pdfLimit: 50_000_000, conns: 4})
			if err != nil {
				b.Fatal(err)
			}
			defer s.close()
			devs, err := s.newDevices(ctx, 1, 1)
			if err != nil {
				b.Fatal(s.explain(err))
			}
			// The first approval warms the key's handle cache and the HTTP connection.
			if _, err := s.batchRequest(ctx, devs[0], BatchDocuments); err != nil {
				b.Fatal(s.explain(err))
			}
			var approving time.Duration
			cpu0 := processCPU()
			b.ResetTimer()
			for b.Loop() {
				t, err := s.batchRequest(ctx, devs[0], BatchDocuments)
				if err != nil {
					b.Fatal(s.explain(err))
				}
				approving += t
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*BatchDocuments)/approving.Seconds(), "sig/s")
			b.ReportMetric(raw[kt.name].opsPerSec, "raw-sig/s")
			b.ReportMetric(float64(b.N*BatchDocuments)/approving.Seconds()/raw[kt.name].opsPerSec, "×raw")
			b.ReportMetric(float64(approving.Milliseconds())/float64(b.N), "approve-ms/op")
			// Process CPU of the whole request (create, read, approve) and of the
			// simulated client: steadier than the wall time on a shared machine.
			b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
