// Command scenarios runs one memory-behaviour scenario with net/http/pprof,
// for measuring memdiag's leak detector against known ground truth.
//
//	go run . -scenario leak-slow -addr 127.0.0.1:0
//
// It prints the address it serves /debug/pprof/ on as its first line.
// Ground truth is in the names: exactly the functions named main.leak* keep
// memory forever; everything else frees what it allocates, plateaus or
// shrinks. `-list` prints the scenarios and their leaking functions.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

const kib = 1024
const mib = 1024 * kib

// tick is how often every workload does its next step.
const tick = 20 * time.Millisecond

type workload struct {
	run  func()
	leak string // the leaking function's name, if it leaks
}

var scenarios = map[string][]workload{
	"leak-fast":      {leakSteady(1 * mib), churn(4 * mib)},
	"leak-slow":      {leakSteady(1 * kib), churn(4 * mib)},
	"leak-map":       {leakMap(8 * kib), churn(2 * mib)},
	"leak-steps":     {leakSteps(256*kib, 4*time.Second), churn(2 * mib)},
	"two-leaks":      {leakSteady(32 * kib), leakMap(4 * kib), churn(2 * mib)},
	"leak-and-cache": {leakSteady(16 * kib), cachePlateau(8*mib, 5*time.Second), cacheSawtooth(4*mib, 5*time.Second), churn(2 * mib)},
	"leak-in-bursts": {leakSteady(4 * kib), bursty(16*mib, 5*time.Second), churn(2 * mib)},
	"cache-plateau":  {cachePlateau(8*mib, 6*time.Second), churn(2 * mib)},
	"cache-sawtooth": {cacheSawtooth(4*mib, 5*time.Second), churn(2 * mib)},
	"bursty":         {bursty(16*mib, 5*time.Second), churn(2 * mib)},
	"warmup":         {warmup(8*mib, 3*time.Second), churn(2 * mib)},
	"shrinking":      {shrinking(32*mib, 20*time.Second), churn(2 * mib)},
	"churn-only":     {churn(8 * mib)},
}

func main() {
	name := flag.String("scenario", "", "scenario to run (see -list)")
	addr := flag.String("addr", "127.0.0.1:0", "address to serve /debug/pprof/ on")
	rate := flag.Int("rate", 512, "runtime.MemProfileRate (bytes)")
	list := flag.Bool("list", false, "print the scenarios and their leaking functions")
	flag.Parse()
	if *list {
		names := make([]string, 0, len(scenarios))
		for n := range scenarios {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			var leaks []string
			for _, w := range scenarios[n] {
				if w.leak != "" {
					leaks = append(leaks, w.leak)
				}
			}
			fmt.Printf("%s\t%s\n", n, strings.Join(leaks, ","))
		}
		return
	}
	ws, ok := scenarios[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "scenarios: unknown scenario %q (see -list)\n", *name)
		os.Exit(2)
	}
	runtime.MemProfileRate = *rate
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scenarios:", err)
		os.Exit(2)
	}
	fmt.Println(ln.Addr().String())
	for _, w := range ws {
		go w.run()
	}
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "scenarios:", err)
		os.Exit(1)
	}
}

// every calls step once per tick with the tick's number, forever.
func every(step func(n int)) {
	for n := 0; ; n++ {
		step(n)
		time.Sleep(tick)
	}
}

// perTick is how many bytes a workload of bytesPerSec handles each tick.
func perTick(bytesPerSec int) int {
	return bytesPerSec * int(tick) / int(time.Second)
}

var (
	mu       sync.Mutex
	retained [][]byte
	leakedBy = map[string][]byte{}
	sink     []byte
)

func leakSteady(bytesPerSec int) workload {
	return workload{leak: "main.leakSteadily", run: func() { every(func(int) { leakSteadily(perTick(bytesPerSec)) }) }}
}

// leakSteadily keeps n more bytes forever, in small records.
func leakSteadily(n int) {
	mu.Lock()
	defer mu.Unlock()
	for n > 0 {
		size := 64 + rand.Intn(192)
		retained = append(retained, make([]byte, size))
		n -= size
	}
}

func leakMap(bytesPerSec int) workload {
	return workload{leak: "main.leakIntoMap", run: func() {
		every(func(n int) { leakIntoMap(n, perTick(bytesPerSec)) })
	}}
}

// leakIntoMap stores values under keys that are never deleted.
func leakIntoMap(n, bytes int) {
	mu.Lock()
	defer mu.Unlock()
	for i := 0; bytes > 0; i++ {
		leakedBy[fmt.Sprintf("req-%d-%d", n, i)] = make([]byte, 128)
		bytes -= 128
	}
}

func leakSteps(step int, period time.Duration) workload {
	return workload{leak: "main.leakInSteps", run: func() {
		for {
			leakInSteps(step)
			time.Sleep(period)
		}
	}}
}

// leakInSteps keeps a batch of buffers forever.
func leakInSteps(n int) {
	mu.Lock()
	defer mu.Unlock()
	for n > 0 {
		retained = append(retained, make([]byte, 4*kib))
		n -= 4 * kib
	}
}

func churn(bytesPerSec int) workload {
	return workload{run: func() { every(func(int) { churnBuffers(perTick(bytesPerSec)) }) }}
}

// churnBuffers allocates n bytes of short-lived buffers.
func churnBuffers(n int) {
	for n > 0 {
		size := 1*kib + rand.Intn(63*kib)
		sink = make([]byte, size)
		n -= size
	}
}

func cachePlateau(capacity int, fill time.Duration) workload {
	return workload{run: func() {
		entries := capacity / (4 * kib)
		perStep := entries*int(tick)/int(fill) + 1
		cache := map[int][]byte{}
		every(func(n int) {
			for i := 0; i < perStep; i++ {
				cacheInsert(cache, n*perStep+i, entries)
			}
		})
	}}
}

// cacheInsert adds an entry to a bounded cache, evicting the oldest.
func cacheInsert(cache map[int][]byte, key, entries int) {
	cache[key] = make([]byte, 4*kib)
	delete(cache, key-entries)
}

func cacheSawtooth(capacity int, period time.Duration) workload {
	return workload{run: func() {
		perStep := capacity / (4 * kib) * int(tick) / int(period)
		var cache [][]byte
		every(func(n int) {
			cache = sawtoothFill(cache, perStep, capacity/(4*kib))
		})
	}}
}

// sawtoothFill grows a cache that is dropped whole when it is full.
func sawtoothFill(cache [][]byte, add, max int) [][]byte {
	if len(cache) >= max {
		cache = nil
	}
	for i := 0; i < add; i++ {
		cache = append(cache, make([]byte, 4*kib))
	}
	return cache
}

func bursty(size int, period time.Duration) workload {
	return workload{run: func() {
		for {
			burst := burstAllocate(size)
			time.Sleep(period / 3)
			runtime.KeepAlive(burst)
			time.Sleep(period - period/3)
		}
	}}
}

// burstAllocate allocates a large working set that is freed soon after.
func burstAllocate(size int) [][]byte {
	var parts [][]byte
	for size > 0 {
		parts = append(parts, make([]byte, 64*kib))
		size -= 64 * kib
	}
	return parts
}

func warmup(target int, halfLife time.Duration) workload {
	return workload{run: func() {
		var pool [][]byte
		have := 0
		every(func(n int) {
			// Grows by a shrinking fraction of what is missing: fast at
			// first, then flat.
			want := (target - have) * int(tick) / int(halfLife)
			if want < 4*kib {
				return
			}
			pool = warmPool(pool, want)
			have += want
		})
	}}
}

// warmPool grows a pool towards its working size.
func warmPool(pool [][]byte, n int) [][]byte {
	for n > 0 {
		pool = append(pool, make([]byte, 4*kib))
		n -= 4 * kib
	}
	return pool
}

func shrinking(initial int, over time.Duration) workload {
	return workload{run: func() {
		parts := loadInitial(initial)
		steps := int(over / tick)
		perStep := len(parts)/steps + 1
		every(func(int) {
			if len(parts) > perStep {
				// Clear the dropped slots: the backing array would keep
				// them alive.
				for i := 0; i < perStep; i++ {
					parts[i] = nil
				}
				parts = parts[perStep:]
			} else {
				parts = nil
			}
		})
	}}
}

// loadInitial allocates a large set that the program then releases.
func loadInitial(n int) [][]byte {
	var parts [][]byte
	for n > 0 {
		parts = append(parts, make([]byte, 16*kib))
		n -= 16 * kib
	}
	return parts
}
