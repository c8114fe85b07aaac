package node

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/ring"
)

// Config is a node's configuration. Use DefaultConfig and change fields;
// Validate checks them and fills zero durations with defaults.
type Config struct {
	// ID is the node's id, unique in the cluster (1..65535).
	ID net.NodeID
	// Addr is the address peers and clients reach this node at; gossip
	// spreads it.
	Addr string
	// Seeds are addresses of nodes to join the cluster through. A node with
	// none starts a cluster of its own (or rejoins the one its log knows).
	Seeds []string
	// Vnodes is the number of virtual tokens the node takes on the ring.
	Vnodes int
	// ReplicationFactor is the number of replicas per key.
	ReplicationFactor int
	// RequestTimeout bounds how long a coordinated request waits for
	// replicas before its outcome is reported as unknown.
	RequestTimeout time.Duration
	// Log configures the operation log: the fsync mode (Always acknowledges
	// a write only once it is on disk), the EverySec period and the segment
	// size. Its Clock is filled from the node's Env.
	Log oplog.Config
	// Compaction says when the node compacts its log on its own.
	Compaction Compaction
	// Gossip configures membership and failure detection.
	Gossip gossip.Config
	// AntiEntropy is how often, on average, the node compares its arcs
	// with a replica's and pulls those that differ (stream.go); negative
	// disables it.
	AntiEntropy time.Duration
	// Tokens, if set, are the node's explicit places on the 64-bit ring
	// (as the DHT seed's ring_id), instead of Vnodes virtual ones.
	Tokens []uint64
	// HintBytes and HintWindow bound the hints a coordinator keeps for one
	// replica (node/coord Hints): in bytes, and in how long a replica may go
	// without taking its oldest hint; 0 means the defaults, 64 MiB and 3 h.
	HintBytes  int
	HintWindow time.Duration
	// IncrRetention is how long a node remembers the increments it applied
	// by their ids, to answer a client's retry instead of applying it
	// again (node/counter); 0 means the default, 10 minutes. A retry
	// older than that is answered unknown outcome.
	IncrRetention time.Duration
	// TombstoneGrace is how long a tombstone stays at least, by each
	// replica's clock, before the tombstone rule may drop it (grave.go:
	// every other replica must also have been seen clean of older
	// values); hints that waited half of it are dropped. 0 means the
	// default, 10 minutes; negative keeps every tombstone.
	TombstoneGrace time.Duration
	// BatchRetention is how long a node keeps a batch's record at least,
	// by its own steady time from when the record came, before it may
	// collect it (batchgc.go has the rule: a settled ring, and for a
	// committed batch every replica of every key holding its write
	// durably). It must exceed any client's retry deadline for a batch
	// plus the longest an attempt takes to reach its decision, so that no
	// attempt of a batch can still propose after its record is gone:
	// the Go client's default deadline is 5 s and a node gives an attempt
	// a request timeout (2 s), so 6 hours (DefaultBatchRetention) leaves
	// callers hours of retries, and exceeds the hint window (3 h). Hints
	// are dropped once they waited half of it (as half the grace), so
	// none carrying a batch's intent arrives after its record is gone.
	// Negative keeps every record, and the node collects none: the
	// default (0) for now.
	BatchRetention time.Duration
	// MaxMemory, if positive, bounds the bytes of keys and values the
	// node holds (store.Bytes) past which it refuses the writes it
	// coordinates that add data — set, cas, a Paxos put, an increment —
	// as unavailable, nothing written; deletes, reads and what other
	// coordinators replicate to it still go. Nothing is evicted.
	MaxMemory int64
	// HashSeed seeds the hash the store's index places keys by
	// (store.NewSeeded). It decides nothing but which keys share probe
	// chains, so a server draws it at random at every start, and keys
	// chosen to collide in one process's index collide in no other's;
	// the simulator leaves it 0.
	HashSeed uint64
	// Mutant names a planted bug to switch on (mutant.go). Only binaries
	// built with the mutants tag accept one; it is for the simulator.
	Mutant string
}

// DefaultBatchRetention is the batch retention to set where records are
// collected (Config.BatchRetention).
const DefaultBatchRetention = 6 * time.Hour

// Compaction triggers a compaction once the bytes appended to the log since
// the last one reach both MinBytes and Ratio times the live state's size.
type Compaction struct {
	MinBytes int64   // bytes; negative disables automatic compaction
	Ratio    float64 // log growth over live bytes
}

// DefaultConfig returns the defaults for node id.
func DefaultConfig(id net.NodeID) Config {
	return Config{ID: id, Vnodes: ring.DefaultVnodes, ReplicationFactor: 3, RequestTimeout: 2 * time.Second, Log: oplog.DefaultConfig(),
		Compaction: Compaction{MinBytes: 64 << 20, Ratio: 2}, Gossip: gossip.DefaultConfig(), AntiEntropy: 10 * time.Second,
		HintBytes: 64 << 20, HintWindow: 3 * time.Hour, IncrRetention: 10 * time.Minute,
		TombstoneGrace: 10 * time.Minute, BatchRetention: -1}
}

// Validate checks c and fills in defaults for zero durations.
func (c *Config) Validate() error {
	var errs []error
	if c.ID == 0 {
		errs = append(errs, errors.New("node id must be 1..65535, not 0"))
	}
	if c.ReplicationFactor < 1 || c.ReplicationFactor > 16 {
		errs = append(errs, fmt.Errorf("replication factor must be 1..16, not %d", c.ReplicationFactor))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request timeout must be positive, not %v", c.RequestTimeout))
	}
	if c.MaxMemory < 0 {
		errs = append(errs, fmt.Errorf("max memory must not be negative, not %d", c.MaxMemory))
	}
	if c.IncrRetention < 0 {
		errs = append(errs, fmt.Errorf("increment retention must not be negative, not %v", c.IncrRetention))
	}
	if c.HintBytes < 0 || c.HintWindow < 0 {
		errs = append(errs, fmt.Errorf("hint bounds must not be negative, not %d bytes and %v", c.HintBytes, c.HintWindow))
	}
	if c.Compaction.Ratio < 0 {
		errs = append(errs, fmt.Errorf("compaction ratio must not be negative, not %v", c.Compaction.Ratio))
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Gossip.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Vnodes < 1 || c.Vnodes > ring.MaxTokens {
		errs = append(errs, fmt.Errorf("vnodes must be 1..%d, not %d", ring.MaxTokens, c.Vnodes))
	}
	if len(c.Tokens) > ring.MaxTokens {
		errs = append(errs, fmt.Errorf("at most %d tokens, not %d", ring.MaxTokens, len(c.Tokens)))
	}
	if ts := slices.Sorted(slices.Values(c.Tokens)); len(slices.Compact(ts)) != len(c.Tokens) {
		errs = append(errs, fmt.Errorf("tokens %v name one place twice", c.Tokens))
	}
	if err := validateMutant(c.Mutant); err != nil {
		errs = append(errs, err)
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultConfig(c.ID).RequestTimeout
	}
	if c.AntiEntropy == 0 {
		c.AntiEntropy = DefaultConfig(c.ID).AntiEntropy
	}
	if c.HintBytes == 0 {
		c.HintBytes = DefaultConfig(c.ID).HintBytes
	}
	if c.HintWindow == 0 {
		c.HintWindow = DefaultConfig(c.ID).HintWindow
	}
	if c.IncrRetention == 0 {
		c.IncrRetention = DefaultConfig(c.ID).IncrRetention
	}
	if c.TombstoneGrace == 0 {
		c.TombstoneGrace = DefaultConfig(c.ID).TombstoneGrace
	}
	if c.BatchRetention == 0 {
		c.BatchRetention = DefaultConfig(c.ID).BatchRetention
	}
	return errors.Join(errs...)
}
