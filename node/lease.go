package node

import (
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/node/oplog"
)

// leaseSpan is how many Lamport counters one lease reserves. A coordinator
// sends a stamped write to replicas before (or without) logging it itself,
// so the log alone cannot say which counters a node used before a crash;
// the lease can: replay starts the clock past it. A wide span makes renewing
// rare (the clock advances with the whole cluster's writes), and costs
// nothing but a jump of the clock at restart.
const leaseSpan = 1 << 20

// stamp calls use with a fresh timestamp under a durable lease: at once
// while the clock is within the lease, otherwise once a renewed lease is on
// disk. Writes waiting for the lease keep their order. If the lease cannot
// be made durable the log has broken, and use is called with a zero stamp.
func (n *Node) stamp(use func(clock.Timestamp)) {
	if len(n.leaseWaiters) == 0 && n.lamport.Now().Counter < n.lease {
		t := n.lamport.Tick()
		if n.lease-t.Counter < leaseSpan/2 {
			n.renewLease()
		}
		use(t)
		return
	}
	n.leaseWaiters = append(n.leaseWaiters, use)
	n.renewLease()
}

// renewLease makes a lease leaseSpan past the clock durable, unless a
// renewal is already in flight, then serves the writes that waited for it.
func (n *Node) renewLease() {
	if n.renewing || n.log == nil {
		return
	}
	bound := n.lamport.Now().Counter + leaseSpan
	if err := n.log.Append(leaseRecord(bound)); err != nil {
		n.broke(err)
		n.failLeaseWaiters()
		return
	}
	n.renewing = true
	n.log.Sync(func(err error) {
		n.renewing = false
		if err != nil {
			n.broke(err)
			n.failLeaseWaiters()
			return
		}
		n.lease = max(n.lease, bound)
		ws := n.leaseWaiters
		n.leaseWaiters = nil
		for i, use := range ws {
			if n.lamport.Now().Counter >= n.lease {
				// The clock jumped past even the new lease (a peer's clock
				// was far ahead): the rest wait for another.
				n.leaseWaiters = append(n.leaseWaiters, ws[i:]...)
				n.renewLease()
				return
			}
			use(n.lamport.Tick())
		}
	})
}

func (n *Node) failLeaseWaiters() {
	ws := n.leaseWaiters
	n.leaseWaiters = nil
	for _, use := range ws {
		use(clock.Timestamp{})
	}
}

func leaseRecord(bound uint64) oplog.Record {
	return oplog.Record{Type: oplog.TypeLease, Key: []byte("lease"), Stamp: clock.Timestamp{Counter: bound}}
}
