package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// maxWorkers bounds -j: more workers than that only costs memory.
const maxWorkers = 1024

// workers checks a -j value.
func workers(j int) error {
	if j < 1 || j > maxWorkers {
		return usagef("-j must be 1..%d, not %d", maxWorkers, j)
	}
	return nil
}

// defaultWorkers is -j's default: one worker per core Go may use.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// runPool runs task(0) … task(n-1) on the given number of goroutines. Each
// simulation run is a world of its own and single-threaded (the simulator
// keeps no mutable package state), so runs only share the machine's cores.
//
// runPool itself calls completed(i) as each task finishes, in the order
// they finish, and emit(i) in index order as soon as task i and every task
// before it have finished; both are called from the caller's goroutine, one
// at a time, so they need no locking, and what emit prints does not depend
// on the number of workers or the order tasks finish in. It returns once
// every task has finished and been emitted. If tick is not nil, it is
// called (from the caller's goroutine too) every redrawEvery while tasks
// run.
func runPool(n, workers int, task func(i int), completed, emit func(i int), tick func()) {
	if n <= 0 {
		return
	}
	next := make(chan int)
	finished := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				task(i)
				finished <- i
			}
		}()
	}
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	ready := make([]bool, n)
	emitted := 0
	var ticks <-chan time.Time
	if tick != nil {
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		ticks = t.C
	}
	for left := n; left > 0; {
		var i int
		select {
		case i = <-finished:
		case <-ticks:
			tick()
			continue
		}
		left--
		completed(i)
		ready[i] = true
		for emitted < n && ready[emitted] {
			emit(emitted)
			emitted++
		}
	}
	wg.Wait()
	if emitted != n {
		panic(fmt.Sprintf("runPool: emitted %d of %d tasks", emitted, n))
	}
}
