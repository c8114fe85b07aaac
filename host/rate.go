package host

import (
	"sync"
	"time"
)

// rateSampler turns a counter into a rate: every tick it records the
// counter's value, and Rate is the increase per second over the samples
// kept (the last rateWindow ticks). Its goroutine reads the counter
// through read, which may post to the loop.
type rateSampler struct {
	read func() (uint64, bool) // the counter now; false once the server stopped
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples []rateSample // oldest first, at most rateWindow+1
}

type rateSample struct {
	at time.Time
	n  uint64
}

const (
	rateTick   = time.Second
	rateWindow = 5 // ticks: requests/s is the mean over the last 5 s
)

func startRate(read func() (uint64, bool)) *rateSampler {
	r := &rateSampler{read: read, stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *rateSampler) loop() {
	defer close(r.done)
	t := time.NewTicker(rateTick)
	defer t.Stop()
	r.sample(time.Now())
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.sample(now)
		}
	}
}

func (r *rateSampler) sample(now time.Time) {
	n, ok := r.read()
	if !ok {
		return
	}
	r.add(now, n)
}

func (r *rateSampler) add(now time.Time, n uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, rateSample{now, n})
	if len(r.samples) > rateWindow+1 {
		r.samples = append(r.samples[:0], r.samples[len(r.samples)-rateWindow-1:]...)
	}
}

// Rate is the counter's increase per second over the samples kept; 0
// until there are two (and on a nil sampler: the server is starting).
func (r *rateSampler) Rate() float64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) < 2 {
		return 0
	}
	first, last := r.samples[0], r.samples[len(r.samples)-1]
	secs := last.at.Sub(first.at).Seconds()
	if secs <= 0 || last.n < first.n {
		return 0
	}
	return float64(last.n-first.n) / secs
}

// close stops the sampler and waits for its goroutine; nil does nothing.
func (r *rateSampler) close() {
	if r == nil {
		return
	}
	close(r.stop)
	<-r.done
}
