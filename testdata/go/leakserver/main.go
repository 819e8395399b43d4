// Command leakserver is a small Go service with a slow leak, a cache that
// fills and then stays full, and churn, serving net/http/pprof. The tests of
// `memdiag record` and `memdiag leaks` record it and expect the leak (in
// main.retainRequestLog) to be named, and the cache (main.fillCache) not.
//
//	leakserver -addr 127.0.0.1:0     # prints "listening on http://HOST:PORT"
//
// Every allocation is profiled (runtime.MemProfileRate = 1), so even a slow
// leak shows within seconds. Fetch /debug/pprof/heap?gc=1 for an up-to-date
// inuse figure (Go's heap profile is as of the last GC).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"
)

func init() { runtime.MemProfileRate = 1 }

var (
	mu      sync.Mutex
	leaked  [][]byte
	cache   = map[int][]byte{}
	scratch []byte
)

// retainRequestLog leaks: it keeps every record it makes, forever.
//
//go:noinline
func retainRequestLog(n int) {
	rec := make([]byte, n)
	mu.Lock()
	leaked = append(leaked, rec)
	mu.Unlock()
}

// fillCache fills a cache of at most limit entries; once full it stops
// growing (a plateau, not a leak).
//
//go:noinline
func fillCache(key, limit, n int) {
	mu.Lock()
	defer mu.Unlock()
	if len(cache) >= limit {
		return
	}
	cache[key] = make([]byte, n)
}

// churn allocates and drops buffers: lots of allocation, nothing retained.
//
//go:noinline
func churn(n int) {
	buf := make([]byte, n)
	buf[0] = 1
	mu.Lock()
	scratch = buf
	mu.Unlock()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	tick := flag.Duration("tick", 20*time.Millisecond, "time between two rounds of work")
	leakBytes := flag.Int("leak", 2048, "bytes leaked per round")
	cacheEntries := flag.Int("cache", 40, "cache capacity in entries of 16 KiB (fills at one per round)")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	os.Stdout.Sync()

	go func() {
		for i := 0; ; i++ {
			retainRequestLog(*leakBytes)
			fillCache(i, *cacheEntries, 16<<10)
			for k := 0; k < 8; k++ {
				churn(32 << 10)
			}
			time.Sleep(*tick)
		}
	}()
	log.Fatal(http.Serve(ln, nil))
}
