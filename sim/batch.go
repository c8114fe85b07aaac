package sim

import (
	"fmt"
	"strings"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
)

// Batches in the workload. A client's batch writes 2-4 distinct register
// keys (or as many as there are), each a set of one value unique to the
// batch or, one time in five, a delete; it is recorded as one operation
// whose Key lists the keys. A batch is sent once: its outcome is the
// node's answer (done, aborted: failed, unknown), or unknown on a timeout
// or a broken connection. The token is drawn from the client's stream.

// drawBatch picks a batch and builds its request.
func (cl *client) drawBatch() (linearize.Op, net.Message) {
	keys := cl.rng.Perm(cl.w.p.Keys)[:min(cl.w.p.Keys, 2+cl.rng.IntN(3))]
	op := linearize.Op{Kind: linearize.Batch, Value: cl.fresh()}
	op.Token = fmt.Sprintf("%016x", cl.rng.Uint64())
	m := &net.Batch{Token: []byte(op.Token)}
	var names []string
	for _, k := range keys {
		name := fmt.Sprintf("k%d", k)
		names = append(names, name)
		w := net.BatchWrite{Key: []byte(name), Value: []byte(op.Value)}
		if cl.rng.IntN(5) == 0 {
			w.Value, w.Deleted = nil, true
			op.Deleted = append(op.Deleted, name)
		}
		m.Writes = append(m.Writes, w)
	}
	op.Key = strings.Join(names, " ")
	return op, m
}
