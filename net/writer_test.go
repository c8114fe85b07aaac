package net

import (
	"bytes"
	"fmt"
	"io"
	stdnet "net"
	"sync"
	"testing"
	"time"
)

// Everything queued reaches the other end once, in order per goroutine,
// whether the writer goroutine or a holder's Flush writes it, and Close
// writes it all before closing.
func TestWriterHoldFlushOrder(t *testing.T) {
	a, b := stdnet.Pipe()
	w := NewWriter(a, nil)
	got := make(chan []byte)
	go func() {
		all, _ := io.ReadAll(b)
		got <- all
	}()
	const n = 500
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				hold := g == 0 && i%3 == 0
				if hold {
					w.Hold()
				}
				w.Write(fmt.Appendf(nil, "%d:%d\n", g, i))
				if hold {
					w.Flush()
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	select {
	case <-w.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the writer did not close")
	}
	all := <-got
	next := [3]int{}
	for _, line := range bytes.Split(bytes.TrimSuffix(all, []byte("\n")), []byte("\n")) {
		var g, i int
		if _, err := fmt.Sscanf(string(line), "%d:%d", &g, &i); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: got %d, want %d", g, i, next[g])
		}
		next[g]++
	}
	if next != [3]int{n, n, n} {
		t.Fatalf("got %v lines per goroutine, want %d each", next, n)
	}
}

// Held, queuing does not wake the writer goroutine: nothing is written
// until Flush, which writes on the caller's goroutine; Close while held
// still writes what is queued, then closes.
func TestWriterHeld(t *testing.T) {
	a, b := stdnet.Pipe()
	w := NewWriter(a, nil)
	w.Hold()
	w.Write([]byte("one"))
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := b.Read(make([]byte, 8)); err == nil {
		t.Fatalf("read %d bytes while held", n)
	}
	b.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() { w.Flush(); close(done) }()
	buf := make([]byte, 8)
	n, err := io.ReadAtLeast(b, buf, 3)
	if err != nil || string(buf[:n]) != "one" {
		t.Fatalf("after Flush: %q, %v", buf[:n], err)
	}
	<-done
	w.Hold()
	w.Write([]byte("two"))
	w.Close()
	all, _ := io.ReadAll(b)
	if string(all) != "two" {
		t.Fatalf("after Close: %q", all)
	}
	<-w.Done()
	w.Write([]byte("three")) // dropped, no panic
	w.Flush()
}

// A failed write closes the connection: Done is closed and later writes
// are dropped, including one made by a Flush.
func TestWriterFailedWrite(t *testing.T) {
	a, b := stdnet.Pipe()
	b.Close()
	var failed error
	w := NewWriter(a, func(err error) { failed = err })
	w.Hold()
	w.Write([]byte("lost"))
	w.Flush()
	select {
	case <-w.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a failed write did not close the writer")
	}
	if failed == nil {
		t.Fatal("onErr was not told")
	}
	w.Write([]byte("dropped"))
	if q := w.Queued(); q != 0 {
		t.Fatalf("%d bytes queued after the writer closed", q)
	}
}
