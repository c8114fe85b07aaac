package host

import (
	"crypto/rand"
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/net/resp"
)

// The RESP front door's counters: INCR, DECR, INCRBY and DECRBY answer the
// counter's new value as an integer, through the node's Incr, as the Go
// client's Incr does. A memdb counter is its own kind of value, so INCR of
// a key holding a plain value (where Redis would parse the value as a
// number) and GET or SET of a counter answer -WRONGTYPE.
//
// The connection is the client: it draws one session id when it opens and
// numbers its increments, a fresh seq per command. The node is in this
// process, so nothing is lost between the two and no command is retried:
// an increment the node cannot settle answers -UNKNOWN, as any write does.
//
// INCRBY k 0 (and DECRBY k 0) change nothing and answer the current value,
// as Redis does, through a counter read at the connection's level; the
// node refuses an increment of 0.

// Redis's replies, word for word: clients recognize them.
const (
	wrongType     = "WRONGTYPE Operation against a key holding the wrong kind of value"
	notInteger    = "ERR value is not an integer or out of range"
	wouldOverflow = "ERR increment or decrement would overflow"
	serialCount   = "ERR counters cannot be serial: MEMDB.CONSISTENCY quorum (or one, all) first"
)

// newCounterSession draws a RESP connection's session id: random, never 0.
func newCounterSession() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if s := binary.BigEndian.Uint64(b[:]); s != 0 {
			return s
		}
	}
}

// counterDelta is what INCR, DECR, INCRBY and DECRBY add, from their name
// and arguments; a non-nil reply is the error to answer instead.
func counterDelta(args [][]byte) (int64, []byte) {
	name := strings.ToLower(string(args[0]))
	switch name {
	case "incr":
		return 1, nil
	case "decr":
		return -1, nil
	}
	n, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		return 0, resp.AppendError(nil, notInteger)
	}
	if name == "decrby" {
		if n == math.MinInt64 {
			return 0, resp.AppendError(nil, wouldOverflow)
		}
		n = -n
	}
	return n, nil
}

// incr is INCR, DECR, INCRBY and DECRBY.
func (ss *respSession) incr(args [][]byte) {
	delta, e := counterDelta(args)
	switch {
	case e != nil:
		ss.immediate(e)
		return
	case ss.level == net.Serial:
		ss.immediate(resp.AppendError(nil, serialCount))
		return
	}
	r := ss.pending()
	if delta == 0 {
		ss.request(&net.GetCounter{Level: ss.level, Key: args[1]}, func(f net.Frame) {
			r.out, r.done = counterReply(f.Msg), true
		})
		return
	}
	ss.seq++
	ss.request(&net.Incr{Level: ss.level, Key: args[1], Delta: delta, Session: ss.session, Seq: ss.seq}, func(f net.Frame) {
		r.out, r.done = counterReply(f.Msg), true
	})
}

// counterReply is the reply to a counter's answer: its value, or the
// error. The node refuses an increment that would leave int64 with
// CodeOverflow; that is answered in Redis's words.
func counterReply(m net.Message) []byte {
	switch m := m.(type) {
	case *net.CounterValue:
		return resp.AppendInt(nil, m.Value)
	case *net.Error:
		if m.Code == net.CodeOverflow {
			return resp.AppendError(nil, wouldOverflow)
		}
		return nodeError(m)
	}
	return unexpected(m)
}
