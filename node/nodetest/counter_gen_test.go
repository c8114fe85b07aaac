package nodetest

import (
	"math"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// A node's first increment fails (overflow); the next one must log the
// generation its slot uses, so that after a restart a retry of it is
// answered (found by review: the generation was drawn by the failed one
// and never logged).
func TestCounterGenerationLoggedWithFirstApplied(t *testing.T) {
	c := formed(3, 3, noAntiEntropy)
	in := func(node int, key string, seq uint64, attempt uint32, delta int64) net.Message {
		r := c.Request(node, &net.Incr{Key: []byte(key), Delta: delta, Level: net.All, Session: uint64(node), Seq: seq, Attempt: attempt, First: clock.Timestamp{Counter: 1}})
		c.Stabilize()
		return c.Replies[r]
	}
	t.Logf("n2 +max: %v", FormatMessage(in(2, "c", 1, 0, math.MaxInt64)))
	t.Logf("n1 +1 on c: %v", FormatMessage(in(1, "c", 1, 0, 1)))
	t.Logf("n1 +1 on d: %v", FormatMessage(in(1, "d", 2, 0, 1)))
	c.Crash(1)
	c.Start(1)
	c.Run(10 * time.Second)
	if a := in(1, "d", 2, 1, 1); !isValue(a, 1) {
		t.Errorf("retry of an applied increment after restart: %v", FormatMessage(a))
	}
}

// isValue reports whether m is a counter's value v.
func isValue(m net.Message, v int64) bool {
	cv, ok := m.(*net.CounterValue)
	return ok && cv.Value == v
}
