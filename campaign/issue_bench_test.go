package campaign

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// issBenchStoreEnv makes TestIssBenchStoreProcess serve a sandbox store.
const issBenchStoreEnv = "COUPONBRIDGE_BENCH_STORE"

// TestIssBenchStoreProcess is not a test: BenchmarkIssue starts the test
// binary again with issBenchStoreEnv set, and this function then serves a
// sandbox store on loopback until its stdin closes, so that the store's
// memory and CPU are not counted as the pipeline's.
func TestIssBenchStoreProcess(t *testing.T) {
	if os.Getenv(issBenchStoreEnv) != "1" {
		t.Skip("helper process for BenchmarkIssue")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: wootest.NewStore(wootest.WithTimezone(issBerlin))}
	go srv.Serve(ln)
	fmt.Printf("listening http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// startBenchStore starts the sandbox store in a child process and returns
// its URL.
func startBenchStore(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIssBenchStoreProcess$")
	cmd.Env = append(os.Environ(), issBenchStoreEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return u
		}
	}
	b.Fatalf("store process did not start: %v", sc.Err())
	return ""
}

// BenchmarkIssue runs whole campaigns (plan, create, verify, email to a
// sender that accepts everything at once) against the sandbox store over
// loopback HTTP with no artificial limits. The store runs in a child
// process, so the figures are the pipeline's: coupons per second, the peak
// heap in use (sampled every 20 ms) and the bytes allocated per recipient.
// The list is generated as it is read, so its size costs no memory.
//
//	go test -run '^$' -bench BenchmarkIssue -benchtime 1x ./campaign/
func BenchmarkIssue(b *testing.B) {
	if testing.Short() {
		b.Skip("long benchmark; not in -short")
	}
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				url := startBenchStore(b)
				client, err := woo.NewClient(url,
					woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
					woo.WithAuthMode(woo.AuthOAuth1),
					woo.WithRateLimit(10000, 1000),
					woo.WithMaxConcurrency(8),
					woo.WithRetry(8, time.Millisecond, 20*time.Millisecond))
				if err != nil {
					b.Fatal(err)
				}
				ledger, err := OpenLedger(b.Context(), filepath.Join(b.TempDir(), "ledger.db"), nil)
				if err != nil {
					b.Fatal(err)
				}
				opts := issOptions()
				opts.BatchSize = 100
				opts.Concurrency = 4
				opts.MailChunk = 50
				opts.RetryWait = time.Second
				opts.Now = time.Now
				var stageMu sync.Mutex
				stageStart := map[Stage]time.Time{}
				opts.Progress = func(s Stage, done, total int) {
					stageMu.Lock()
					defer stageMu.Unlock()
					if _, ok := stageStart[s]; !ok {
						stageStart[s] = time.Now()
					}
				}
				is, err := NewIssuer(ledger, client.Coupons, issNullSender{}, opts)
				if err != nil {
					b.Fatal(err)
				}
				c := issCampaign(fmt.Sprintf("bench-%d", n))
				pr, pw := io.Pipe()
				go func() { pw.CloseWithError(genRecipients(pw, n)) }()
				src, err := NewRecipientReader(pr, "bench.csv")
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				allocBefore := ms.TotalAlloc
				var peak atomic.Uint64
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					t := time.NewTicker(20 * time.Millisecond)
					defer t.Stop()
					for {
						var m runtime.MemStats
						runtime.ReadMemStats(&m)
						if m.HeapInuse > peak.Load() {
							peak.Store(m.HeapInuse)
						}
						select {
						case <-stop:
							return
						case <-t.C:
						}
					}
				})
				start := time.Now()
				b.StartTimer()
				res, err := is.Run(b.Context(), c, src)
				b.StopTimer()
				elapsed := time.Since(start)
				close(stop)
				wg.Wait()
				if err != nil {
					b.Fatal(err)
				}
				runtime.ReadMemStats(&ms)
				_, resp, lerr := client.Coupons.List(b.Context(), &woo.CouponListOptions{ListOptions: woo.ListOptions{PerPage: 1}})
				if lerr != nil || res.Count(StateEmailed) != n || resp.Total != n {
					b.Fatalf("summary %v, store total %v (%v); want %d emailed and in the store", res.Counts, resp, lerr, n)
				}
				b.Logf("n=%d: first progress of plan +%s, create +%s, verify +%s, email +%s, end +%s", n,
					stageStart[StagePlan].Sub(start).Round(time.Millisecond), stageStart[StageCreate].Sub(start).Round(time.Millisecond),
					stageStart[StageVerify].Sub(start).Round(time.Millisecond), stageStart[StageEmail].Sub(start).Round(time.Millisecond),
					elapsed.Round(time.Millisecond))
				b.ReportMetric(float64(n)/elapsed.Seconds(), "coupons/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(ms.TotalAlloc-allocBefore)/float64(n), "alloc-B/recipient")
				ledger.Close()
			}
		})
	}
}

// genRecipients writes a recipient list of n rows to w.
func genRecipients(w io.Writer, n int) error {
	if _, err := io.WriteString(w, "email,first_name,last_name,tier\n"); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for i := 0; i < n; i++ {
		buf = fmt.Appendf(buf, "bench%07d@example.com,First%d,Last%d,gold\n", i, i, i)
		if len(buf) > 60<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// BenchmarkIssueRateLimited issues with the store client capped at a rate
// far below what the sandbox can take, and reports the request rate the
// run achieved against that ceiling (the pipeline should keep the store
// busy up to the limit, never above it).
//
//	go test -run '^$' -bench BenchmarkIssueRateLimited -benchtime 1x ./campaign/
func BenchmarkIssueRateLimited(b *testing.B) {
	if testing.Short() {
		b.Skip("long benchmark; not in -short")
	}
	const (
		n       = 3000
		ceiling = 10.0 // requests per second
	)
	for range b.N {
		b.StopTimer()
		url := startBenchStore(b)
		client, err := woo.NewClient(url,
			woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
			woo.WithAuthMode(woo.AuthOAuth1),
			woo.WithRateLimit(ceiling, 1),
			woo.WithMaxConcurrency(4))
		if err != nil {
			b.Fatal(err)
		}
		ledger, err := OpenLedger(b.Context(), filepath.Join(b.TempDir(), "ledger.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		opts := issOptions()
		opts.BatchSize, opts.Concurrency, opts.Now = 100, 4, time.Now
		span := &issSpanStore{CouponStore: client.Coupons}
		is, err := NewIssuer(ledger, span, issNullSender{}, opts)
		if err != nil {
			b.Fatal(err)
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(genRecipients(pw, n)) }()
		src, err := NewRecipientReader(pr, "bench.csv")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := is.Run(b.Context(), issCampaign("bench-rate"), src)
		b.StopTimer()
		if err != nil || res.Count(StateEmailed) != n {
			b.Fatalf("run: %v, %v; want %d emailed", err, res.Counts, n)
		}
		// The rate over the span from the first store call to the end of
		// the last, n requests: n-1 intervals at the ceiling at best.
		reqs := client.Stats().Requests
		achieved := float64(reqs-1) / span.last.Sub(span.first).Seconds()
		b.ReportMetric(achieved, "req/s")
		b.ReportMetric(achieved/ceiling*100, "%-of-ceiling")
		ledger.Close()
	}
}

// issSpanStore records when the first store call started and the last ended.
type issSpanStore struct {
	CouponStore
	mu          sync.Mutex
	first, last time.Time
}

func (s *issSpanStore) track() func() {
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = time.Now()
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.last = time.Now()
		s.mu.Unlock()
	}
}

func (s *issSpanStore) Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error) {
	defer s.track()()
	return s.CouponStore.Batch(ctx, b)
}

func (s *issSpanStore) List(ctx context.Context, o *woo.CouponListOptions) ([]woo.Coupon, *woo.Response, error) {
	defer s.track()()
	return s.CouponStore.List(ctx, o)
}
