package node

import (
	"errors"
	"log/slog"
	"math/rand/v2"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
)

// Env is everything a node may use to act on the world. The host builds it.
type Env struct {
	// Clock gives physical time and timers; callbacks run on the node's loop.
	Clock clock.Clock
	// Transport sends to peers and replies to clients.
	Transport net.Transport
	// Disk is the node's data directory.
	Disk disk.FS
	// Rand is the node's only source of randomness. In the simulator it is
	// derived from the run's seed.
	Rand *rand.Rand
	// Log receives the node's structured log. It must not read the wall
	// clock in a way that changes what the node does (slog does not).
	Log *slog.Logger
	// Offload runs heavy, self-contained work (a compaction's compression)
	// off the loop: work on any goroutine, touching only what it was
	// handed; then done on the loop. cost is the work's size in bytes, from
	// which the simulator draws how long it takes. Nil runs both inline.
	Offload func(cost int, work, done func())
}

func (e Env) validate() error {
	var errs []error
	if e.Clock == nil {
		errs = append(errs, errors.New("env: no Clock"))
	}
	if e.Transport == nil {
		errs = append(errs, errors.New("env: no Transport"))
	}
	if e.Disk == nil {
		errs = append(errs, errors.New("env: no Disk"))
	}
	if e.Rand == nil {
		errs = append(errs, errors.New("env: no Rand"))
	}
	if e.Log == nil {
		errs = append(errs, errors.New("env: no Log"))
	}
	return errors.Join(errs...)
}
