package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

// memdb bench: a load generator for the binary protocol, through the Go
// client, shaped after redis-benchmark so the two can be read side by
// side: -c connections (a client each), -n requests per test, -P requests
// in flight per connection, -d value size, -r keyspace, -t tests.

const benchUsage = `usage: memdb [-addr A,...] [-key K] [-consistency L] bench [flags]

Runs each test (-t) in turn against the nodes and prints, per test, the
requests per second and the latency percentiles. Keys are "key:" and 12
digits: with -r N, drawn at random from N; without, always the same one,
as redis-benchmark does. A progress line is shown on a terminal.

Tests: set (writes a -d byte value), get, cas (swaps a key from the
benchmark's value to itself: a full Paxos round; run set first so the keys
hold it, or most cas answer false, which is still a round), incr (adds 1 to
a counter; its keys are "ctr:" and 12 digits, since a counter is not a
value, and it takes one, quorum or all), mset2 and mset8 (a batch writing
the -d byte value to 2 or 8 keys atomically: the drawn key with "/0",
"/1", ... appended; a batch takes no level).

flags:
  -c N             connections, each a client of its own (default 50)
  -n N             requests per test (default 100000)
  -P N             requests in flight per connection: the pipeline depth (default 1)
  -d N             value size in bytes (default 3)
  -r N             keyspace: random keys in 0..N-1 (default 0: one key)
  -t LIST          tests, comma-separated: set, get, cas, incr, mset2, mset8 (default set,get)
  -consistency L   one, quorum, all or serial (default: memdb's -consistency)
  -q               print only the result lines
`

// benchConfig is what the bench flags say.
type benchConfig struct {
	conns, requests, pipeline, size, keyspace int
	tests                                     []string
	level                                     net.Consistency
	quiet                                     bool
}

func parseBench(args []string, level net.Consistency) (benchConfig, error) {
	fs := flag.NewFlagSet("memdb bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	cfg := benchConfig{level: level}
	fs.IntVar(&cfg.conns, "c", 50, "")
	fs.IntVar(&cfg.requests, "n", 100000, "")
	fs.IntVar(&cfg.pipeline, "P", 1, "")
	fs.IntVar(&cfg.size, "d", 3, "")
	fs.IntVar(&cfg.keyspace, "r", 0, "")
	tests := fs.String("t", "set,get", "")
	lv := fs.String("consistency", "", "")
	fs.BoolVar(&cfg.quiet, "q", false, "")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	switch {
	case cfg.conns < 1, cfg.requests < 1, cfg.pipeline < 1:
		return cfg, errors.New("bench: -c, -n and -P must be at least 1")
	case cfg.size < 0 || cfg.size > net.MaxValue:
		return cfg, fmt.Errorf("bench: -d must be 0..%d", net.MaxValue)
	case cfg.keyspace < 0:
		return cfg, errors.New("bench: -r must not be negative")
	}
	for _, t := range strings.Split(*tests, ",") {
		switch t = strings.ToLower(strings.TrimSpace(t)); t {
		case "set", "get", "cas", "incr", "mset2", "mset8":
			cfg.tests = append(cfg.tests, t)
		case "":
		default:
			return cfg, fmt.Errorf("bench: unknown test %q (want set, get, cas, incr, mset2 or mset8)", t)
		}
	}
	if len(cfg.tests) == 0 {
		return cfg, errors.New("bench: -t names no test")
	}
	if *lv != "" {
		var err error
		if cfg.level, err = net.ParseConsistency(*lv); err != nil {
			return cfg, fmt.Errorf("bench: -consistency: %w", err)
		}
	}
	return cfg, nil
}

// benchResult is one test's outcome.
type benchResult struct {
	test     string
	ok       int
	errs     int
	elapsed  time.Duration
	lat      []time.Duration // of the requests that succeeded, sorted
	firstErr error
}

func (r benchResult) percentile(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
}

// line is the result as printed: ops/s and latencies in milliseconds.
func (r benchResult) line() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
	s := fmt.Sprintf("%s: %.0f requests per second, p50=%s p95=%s p99=%s max=%s msec",
		strings.ToUpper(r.test), float64(r.ok)/r.elapsed.Seconds(), ms(r.percentile(0.50)), ms(r.percentile(0.95)), ms(r.percentile(0.99)), ms(r.percentile(1)))
	if r.errs > 0 {
		s += fmt.Sprintf(" (%d errors; the first: %v)", r.errs, r.firstErr)
	}
	return s
}

// bench runs the benchmark; it returns the exit status.
func bench(opts client.Options, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseBench(args, opts.Consistency)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(stdout, benchUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %v (memdb bench -h lists the flags)\n", err)
		return exitUsage
	}
	opts.Consistency = cfg.level
	ctx := context.Background()
	clients := make([]*client.Client, cfg.conns)
	for i := range clients {
		dctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		c, err := client.Dial(dctx, opts)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "error: bench: connect: %v\n", err)
			for _, c := range clients[:i] {
				c.Close()
			}
			return exitFailed
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	var progress io.Writer
	if f, ok := stderr.(*os.File); ok && !cfg.quiet && term.IsTerminal(int(f.Fd())) {
		progress = stderr
	}
	failed := false
	for _, test := range cfg.tests {
		r := runBenchTest(clients, cfg, test, progress)
		fmt.Fprintln(stdout, r.line())
		if r.ok == 0 {
			failed = true
		}
	}
	if failed {
		return exitFailed
	}
	return exitOK
}

// runBenchTest runs cfg.requests of one test over every client, each with
// cfg.pipeline requests in flight.
func runBenchTest(clients []*client.Client, cfg benchConfig, test string, progress io.Writer) benchResult {
	value := make([]byte, cfg.size)
	for i := range value {
		value[i] = 'x'
	}
	var issued, done atomic.Int64
	var mu sync.Mutex
	res := benchResult{test: test, lat: make([]time.Duration, 0, cfg.requests)}
	var wg sync.WaitGroup
	start := time.Now()
	for ci, c := range clients {
		for p := range cfg.pipeline {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(p)))
				var lat []time.Duration
				var errs int
				var firstErr error
				for issued.Add(1) <= int64(cfg.requests) {
					key := benchKey(rng, cfg.keyspace)
					t0 := time.Now()
					err := benchOp(c, test, key, value)
					d := time.Since(t0)
					done.Add(1)
					if err != nil {
						errs++
						if firstErr == nil {
							firstErr = err
						}
						continue
					}
					lat = append(lat, d)
				}
				mu.Lock()
				res.lat = append(res.lat, lat...)
				res.errs += errs
				if res.firstErr == nil {
					res.firstErr = firstErr
				}
				mu.Unlock()
			}()
		}
	}
	stop := make(chan struct{})
	var pwg sync.WaitGroup
	if progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					fmt.Fprint(progress, "\r\033[K")
					return
				case <-tick.C:
					n := done.Load()
					fmt.Fprintf(progress, "\r\033[K%s: %d/%d requests, %.0f per second", strings.ToUpper(test), n, cfg.requests, float64(n)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	close(stop)
	pwg.Wait()
	res.ok = len(res.lat)
	slices.Sort(res.lat)
	return res
}

func benchKey(rng *rand.Rand, keyspace int) string {
	if keyspace == 0 {
		return "key:000000000000"
	}
	return fmt.Sprintf("key:%012d", rng.IntN(keyspace))
}

// benchOp runs one request of test. A cas that answers false is a
// success: the round was made.
func benchOp(c *client.Client, test, key string, value []byte) error {
	ctx := context.Background()
	switch test {
	case "set":
		return c.Set(ctx, key, value)
	case "get":
		_, err := c.Get(ctx, key)
		if errors.Is(err, client.ErrNotFound) {
			return nil
		}
		return err
	case "cas":
		_, err := c.CAS(ctx, key, value, value)
		return err
	case "incr":
		_, err := c.Incr(ctx, "ctr:"+strings.TrimPrefix(key, "key:"), 1)
		return err
	case "mset2", "mset8":
		ws := make([]client.Write, int(test[4]-'0'))
		for i := range ws {
			ws[i] = client.Write{Key: key + "/" + strconv.Itoa(i), Value: value}
		}
		return c.Batch(ctx, ws)
	}
	panic("bench: unknown test " + test)
}
