package sim

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/memdb/memdb/net"
)

// eventKind names what an event is, for the event hash and panic reports.
// Values are hashed: never renumber one, only add.
type eventKind uint8

const (
	evTimer        eventKind = 1  // a node's clock.AfterFunc callback
	evDisk         eventKind = 2  // a disk completion on a node's loop
	evPeer         eventKind = 3  // a peer datagram arrives at a node
	evRequest      eventKind = 4  // a client frame arrives at a node
	evReply        eventKind = 5  // a node's reply arrives at a client
	evConnect      eventKind = 6  // a client's connection attempt reaches a node
	evConnected    eventKind = 7  // the client learns its connection is up
	evRefused      eventKind = 8  // the client learns the node is down
	evBroken       eventKind = 9  // the client notices its connection broke
	evDisconnected eventKind = 10 // the node learns a client connection closed
	evIssue        eventKind = 11 // a client's think time ends: issue an op
	evTimeout      eventKind = 12 // a client gives up on an op
	evFault        eventKind = 13 // a scheduled fault begins
	evFaultEnd     eventKind = 14 // a fault's window ends (restart, heal)
	evHeal         eventKind = 15 // the fault phase ends: heal everything
	evStop         eventKind = 16 // the workload ends: clients stop issuing
	evReconnect    eventKind = 17 // a client's reconnect backoff ends
	evCrashPoint   eventKind = 18 // a crash point fires: a node crashes after a send
)

var eventNames = map[eventKind]string{
	evTimer: "timer", evDisk: "disk", evPeer: "peer", evRequest: "request", evReply: "reply",
	evConnect: "connect", evConnected: "connected", evRefused: "refused", evBroken: "broken",
	evDisconnected: "disconnected", evIssue: "issue", evTimeout: "timeout", evFault: "fault",
	evFaultEnd: "fault-end", evHeal: "heal", evStop: "stop", evReconnect: "reconnect", evCrashPoint: "crash-point",
}

func (k eventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// event is one entry of the queue. Events are ordered by (at, seq): seq is
// the order in which they were scheduled, so simultaneous events run in a
// deterministic order.
type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	node net.NodeID // the node it runs on or concerns; 0 for none
	aux  uint64     // connection, client or fault number, by kind
	data []byte     // message bytes, hashed
	// fn runs the event. It is nil once the event ran or was cancelled.
	fn func()
}

// queue is a binary min-heap of events.
type queue []*event

func (q queue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q *queue) push(e *event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue) pop() *event {
	h := *q
	n := len(h) - 1
	top := h[0]
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// FNV-1a, 64 bit.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// hashEvent folds an event into the running event hash: its time, kind,
// node, aux and bytes. Nothing from the wall clock or from map order goes
// in, so the same seed gives the same hash on every machine.
func hashEvent(h uint64, e *event) uint64 {
	var hdr [8 + 1 + 2 + 8 + 4]byte
	binary.LittleEndian.PutUint64(hdr[0:], uint64(e.at))
	hdr[8] = byte(e.kind)
	binary.LittleEndian.PutUint16(hdr[9:], uint16(e.node))
	binary.LittleEndian.PutUint64(hdr[11:], e.aux)
	binary.LittleEndian.PutUint32(hdr[19:], uint32(len(e.data)))
	return fnvBytes(fnvBytes(h, hdr[:]), e.data)
}
