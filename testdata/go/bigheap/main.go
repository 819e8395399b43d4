// Command bigheap writes a heap profile with a very large number of samples
// (distinct stacks), for benchmarking memdiag against `go tool pprof`.
//
//	bigheap -samples 250000 -out big250k.pb.gz
//	bigheap -samples 2000000 -out big2m.pb.gz
//	bigheap -count FILE          # count samples / distinct stacks in a .pb.gz
//
// Forty functions f00..f39 call each other; the callee at each level is
// chosen from the base-40 digits of a counter i (plus a few padding
// levels, for a total depth of 8..14), so every allocation i has a
// unique call path and therefore its own bucket in the runtime's memory
// profile (runtime.MemProfileRate = 1, set in init before any allocation
// of interest). Every third object is dropped before the final GC, so
// inuse_* differs from alloc_*.
//
// Most of this file (the f00..f39 functions) is mechanically generated; it
// only uses the Go standard library.
package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

func init() { runtime.MemProfileRate = 1 }

const numFuncs = 40

type obj [2]uint64

// walk describes the call path of the allocation currently being made.
type walk struct {
	i     int
	steps [16]uint8 // steps[k] is the function called at level k
	depth int
}

var (
	fns  [numFuncs]func(w *walk, d int)
	sink []*obj
)

func init() {
	fns = [numFuncs]func(w *walk, d int){
		f00, f01, f02, f03, f04, f05, f06, f07, f08, f09,
		f10, f11, f12, f13, f14, f15, f16, f17, f18, f19,
		f20, f21, f22, f23, f24, f25, f26, f27, f28, f29,
		f30, f31, f32, f33, f34, f35, f36, f37, f38, f39,
	}
}

// plan fills w with the call path for allocation i: 0..6 padding levels (a
// fixed pattern selected by i%7, so depths vary between 8 and 14 while the
// profile stays reasonably compressible), followed by the base-40 digits of
// i, most significant first. The digits make every path unique, and putting
// the least significant digit last spreads the allocation sites (flat
// values) evenly over all 40 functions.
func plan(w *walk, i, digits int) {
	w.i = i
	sel := i % 7
	pad := 8 - digits
	if pad < 0 {
		pad = 0
	}
	pad += sel // total depth in [max(8,digits), max(8,digits)+6]
	if pad+digits > len(w.steps) {
		pad = len(w.steps) - digits
	}
	k := 0
	for ; k < pad; k++ {
		w.steps[k] = uint8((sel*11 + k*7) % numFuncs)
	}
	n := i
	for j := digits - 1; j >= 0; j-- {
		w.steps[k+j] = uint8(n % numFuncs)
		n /= numFuncs
	}
	w.depth = k + digits
}

// next returns the function to call when d levels remain.
func (w *walk) next(d int) func(*walk, int) {
	return fns[w.steps[w.depth-d]]
}

//go:noinline
func f00(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f01(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f02(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f03(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f04(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f05(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f06(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f07(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f08(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f09(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f10(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f11(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f12(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f13(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f14(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f15(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f16(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f17(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f18(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f19(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f20(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f21(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f22(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f23(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f24(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f25(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f26(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f27(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f28(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f29(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f30(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f31(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f32(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f33(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f34(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f35(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f36(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f37(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f38(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func f39(w *walk, d int) {
	if d == 0 {
		sink[w.i] = new(obj)
		return
	}
	w.next(d)(w, d-1)
}

//go:noinline
func generate(n int) {
	digits := 1
	for c := numFuncs; c < n; c *= numFuncs {
		digits++
	}
	sink = make([]*obj, n)
	var w walk
	for i := 0; i < n; i++ {
		plan(&w, i, digits)
		// The first step is taken here so that the outermost fXX frame varies too.
		fns[w.steps[0]](&w, w.depth-1)
	}
	for i := 0; i < n; i += 3 {
		sink[i] = nil
	}
}

func main() {
	samples := flag.Int("samples", 250000, "number of allocations (= distinct stacks)")
	out := flag.String("out", "bigheap.pb.gz", "output file")
	count := flag.String("count", "", "instead of generating, count samples in this .pb.gz profile")
	flag.Parse()
	if *count != "" {
		if err := countProfile(*count); err != nil {
			fmt.Fprintln(os.Stderr, "bigheap:", err)
			os.Exit(1)
		}
		return
	}
	t0 := time.Now()
	generate(*samples)
	t1 := time.Now()
	runtime.GC()
	t2 := time.Now()
	f, err := os.Create(*out)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigheap:", err)
		os.Exit(1)
	}
	t3 := time.Now()
	runtime.KeepAlive(sink)
	fmt.Fprintf(os.Stderr, "bigheap: %d allocations: generate %v, gc %v, write %v\n",
		*samples, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond))
}

// ---------------------------------------------------------------------------
// A minimal protobuf reader, just enough to count samples in a profile.proto.

func countProfile(path string) error {
	runtime.MemProfileRate = 0
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return err
	}
	var nSamples, nLocs, nFuncs, nStrings, zero int
	stacks := make(map[string]struct{})
	var sums []int64
	err = fields(data, func(num int, wt int, v uint64, b []byte) error {
		switch num {
		case 2: // Sample
			nSamples++
			var locs []byte
			var vals []int64
			if err := fields(b, func(n, wt int, v uint64, bb []byte) error {
				switch {
				case n == 1 && wt == 2:
					locs = append(locs, bb...)
				case n == 1 && wt == 0:
					locs = appendVarint(locs, v)
				case n == 2 && wt == 2:
					for len(bb) > 0 {
						x, k := uvarint(bb)
						if k <= 0 {
							return errors.New("bad packed value")
						}
						vals = append(vals, int64(x))
						bb = bb[k:]
					}
				case n == 2 && wt == 0:
					vals = append(vals, int64(v))
				}
				return nil
			}); err != nil {
				return err
			}
			stacks[string(locs)] = struct{}{}
			allZero := true
			for j, x := range vals {
				if j >= len(sums) {
					sums = append(sums, 0)
				}
				sums[j] += x
				if x != 0 {
					allZero = false
				}
			}
			if allZero {
				zero++
			}
		case 4:
			nLocs++
		case 5:
			nFuncs++
		case 6:
			nStrings++
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("samples=%d distinct_stacks=%d all_zero_samples=%d locations=%d functions=%d strings=%d value_sums=%v uncompressed_bytes=%d\n",
		nSamples, len(stacks), zero, nLocs, nFuncs, nStrings, sums, len(data))
	return nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	var s uint
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		if c < 0x80 {
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// fields calls fn for each top-level field of a protobuf message.
func fields(b []byte, fn func(num, wt int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, k := uvarint(b)
		if k <= 0 {
			return errors.New("bad field key")
		}
		b = b[k:]
		num, wt := int(key>>3), int(key&7)
		var v uint64
		var data []byte
		switch wt {
		case 0:
			v, k = uvarint(b)
			if k <= 0 {
				return errors.New("bad varint")
			}
			b = b[k:]
		case 1:
			if len(b) < 8 {
				return io.ErrUnexpectedEOF
			}
			b = b[8:]
		case 2:
			l, k := uvarint(b)
			if k <= 0 || uint64(len(b)-k) < l {
				return errors.New("bad length")
			}
			data = b[k : k+int(l)]
			b = b[k+int(l):]
		case 5:
			if len(b) < 4 {
				return io.ErrUnexpectedEOF
			}
			b = b[4:]
		default:
			return fmt.Errorf("unsupported wire type %d", wt)
		}
		if err := fn(num, wt, v, data); err != nil {
			return err
		}
	}
	return nil
}
