package sim

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// Params is everything a run depends on besides the code: the seed, the
// shape of the world, the rates drawn for this seed and the fault schedule.
// A trace stores it, so a replay does not depend on how parameters are
// drawn. Durations are virtual; their JSON form is nanoseconds.
type Params struct {
	Seed  uint64 `json:"seed"`
	Nodes int    `json:"nodes"` // simulated machines, ids 1..Nodes
	// RF is the replication factor the nodes run with; 0 means 1.
	RF      int `json:"rf"`
	Clients int `json:"clients"` // simulated clients, numbered 1..Clients
	Keys    int `json:"keys"`    // the workload's key set: k0..k<Keys-1>
	// Duration is the workload under faults. At Duration every fault heals:
	// crashed nodes restart, partitions and slow links end.
	Duration time.Duration `json:"duration_ns"`
	// Liveness is the bound after the heal within which every client must
	// complete an operation; the workload ends at Duration+Liveness.
	Liveness time.Duration `json:"liveness_ns"`
	Net      NetParams     `json:"net"`
	Client   ClientParams  `json:"client"`
	Disk     DiskParams    `json:"disk"`
	// Faults is the fault schedule, sorted by time. A trace stores it at its
	// top level.
	Faults []Fault `json:"-"`
	// CrashPoint crashes a node right after it sends a chosen message
	// (crashpoint.go); the zero value is off.
	CrashPoint CrashPoint `json:"crash_point,omitzero"`
	// Mutant names a planted bug the nodes run with (node/mutant.go); only
	// builds with the mutants tag accept one.
	Mutant string `json:"mutant,omitempty"`
	// TombstoneGrace is the nodes' Config.TombstoneGrace; zero (the
	// default of every scenario that does not draw it) keeps every
	// tombstone.
	TombstoneGrace time.Duration `json:"tombstone_grace_ns,omitempty"`
	// BatchRetention is the nodes' Config.BatchRetention; zero (the
	// default of every scenario that does not draw it) keeps every batch
	// record.
	BatchRetention time.Duration `json:"batch_retention_ns,omitempty"`
	// AntiEntropy, if positive, is the nodes' Config.AntiEntropy (how
	// often on average a node compares its arcs with a replica's); zero
	// keeps the node's default (10 s).
	AntiEntropy time.Duration `json:"anti_entropy_ns,omitempty"`
	// Script is operations that scripted clients issue at set times
	// through set nodes, besides the random clients' (script.go); none by
	// default.
	Script []Step `json:"script,omitempty"`
}

// NetParams shapes the simulated network.
type NetParams struct {
	// One-way latency is LatencyFloor + LatencyMedian·e^(LatencySigma·N(0,1)),
	// capped at LatencyMax (before any slow-network factor applies).
	LatencyFloor  time.Duration `json:"latency_floor_ns"`
	LatencyMedian time.Duration `json:"latency_median_ns"`
	LatencySigma  float64       `json:"latency_sigma"`
	LatencyMax    time.Duration `json:"latency_max_ns"`
	// Loss and Dup are the probabilities that a peer datagram is dropped
	// or delivered twice. Client connections are reliable and FIFO.
	Loss float64 `json:"loss"`
	Dup  float64 `json:"dup"`
	// DetectMax bounds how long a side takes to notice a broken connection
	// (drawn uniformly in [latency, latency+DetectMax]).
	DetectMax time.Duration `json:"detect_max_ns"`
	// Links slows some directed links between nodes (links.go); none by
	// default.
	Links []LinkDelay `json:"links,omitempty"`
}

// ClientParams shapes the simulated clients' workload.
type ClientParams struct {
	ThinkMax time.Duration `json:"think_max_ns"` // pause before each op, uniform in [0, ThinkMax]
	Timeout  time.Duration `json:"timeout_ns"`   // after this an op's outcome is unknown
	Backoff  time.Duration `json:"backoff_ns"`   // reconnect delay, uniform in [0, Backoff]
	// Mix weighs the operations: get, set, delete, contains.
	Mix [4]int `json:"mix"`
	// ReadLevel and WriteLevel are the consistency levels clients ask for.
	ReadLevel  net.Consistency `json:"read_level"`
	WriteLevel net.Consistency `json:"write_level"`
	// CAS weighs compare-and-set against the four in Mix.
	CAS int `json:"cas,omitempty"`
	// Serial sends every get, set and contains through Paxos (serial reads
	// and Paxos puts); a Paxos workload has no plain writes and no deletes,
	// so its history is checked for linearizability.
	Serial bool `json:"serial,omitempty"`
	// Lock replaces the mix: each client loops taking a lock with cas,
	// holding it a while and releasing it, and mutual exclusion is checked.
	Lock bool `json:"lock,omitempty"`
	// Start is when the clients first connect (0: at once), so that a
	// scenario can let its cluster form before the workload begins.
	Start time.Duration `json:"start_ns,omitempty"`
	// Counter weighs increments and counter reads against the mix
	// (counter.go): counters are keys of their own, c0, c1, ..., never
	// written as registers. CounterKeys is how many are in use at once
	// (each takes 27 increments, then a fresh key replaces it).
	Counter     [2]int `json:"counter,omitzero"`
	CounterKeys int    `json:"counter_keys,omitempty"`
	// CounterLevels makes each counter operation draw its level (one,
	// quorum or all); otherwise increments go at WriteLevel and counter
	// reads at ReadLevel.
	CounterLevels bool `json:"counter_levels,omitempty"`
	// IncrDeadline is how long a client goes on retrying an increment of
	// unknown outcome (each attempt waits Timeout) before it records the
	// increment as unknown.
	IncrDeadline time.Duration `json:"incr_deadline_ns,omitempty"`
	// Batch weighs atomic batches against the mix (batch.go): each writes
	// 2-4 of the register keys (some deletes), a value of its own.
	Batch int `json:"batch,omitempty"`
	// BatchTimeout, if set, is how long each attempt of a batch waits
	// instead of Timeout (and a batch call retries for batchDeadline of
	// them), so that a workload whose other operations time out fast
	// still waits out a batch's own deadlines (churn and chaos).
	BatchTimeout time.Duration `json:"batch_timeout_ns,omitempty"`
	// Failover makes clients route and fail over as the client package
	// does (route.go): each operation goes to its key's first replica on
	// the ring the client last learned, then the other nodes, those that
	// refused or broke a connection last; a read of unknown outcome is
	// sent again to the next node until 3 Timeouts after its call; a write
	// of unknown outcome is never sent again. No counters.
	Failover bool `json:"failover,omitempty"`
}

// counters reports whether the workload has counter operations.
func (c ClientParams) counters() bool { return c.Counter[0]+c.Counter[1] > 0 }

// DiskParams shapes the in-memory disk.
type DiskParams struct {
	SyncMin time.Duration `json:"sync_min_ns"` // a sync completes after a delay in [SyncMin, SyncMax]
	SyncMax time.Duration `json:"sync_max_ns"`
	// CompressPerKB is the virtual time a compaction's compression takes
	// per KiB of live state.
	CompressPerKB time.Duration `json:"compress_per_kb_ns"`
	// SegmentSize and CompactMinBytes are the node's log settings, drawn
	// small so that rolls and compactions (and crashes during them) happen
	// within a run.
	SegmentSize     int64 `json:"segment_size"`
	CompactMinBytes int64 `json:"compact_min_bytes"`
}

// ErrParams means parameters are out of range.
var ErrParams = errors.New("bad simulation parameters")

// Validate checks p.
func (p Params) Validate() error {
	var errs []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	check(p.Nodes >= 1 && p.Nodes <= 64, "nodes must be 1..64, not %d", p.Nodes)
	check(p.Clients >= 1 && p.Clients <= 1000, "clients must be 1..1000, not %d", p.Clients)
	check(p.RF >= 0 && p.RF <= 16, "rf must be 1..16 (0: 1), not %d", p.RF)
	check(p.Client.ReadLevel <= net.All && p.Client.WriteLevel <= net.All, "levels must be default, one, quorum or all")
	check(!p.Client.Failover || p.Client.Counter == [2]int{}, "failover (routed) clients do not run counters")
	check(p.Keys >= 1 && p.Keys <= 10000, "keys must be 1..10000, not %d", p.Keys)
	check(p.BatchRetention >= 0, "batch retention must not be negative, not %v", p.BatchRetention)
	check(p.TombstoneGrace >= 0 && p.AntiEntropy >= 0, "tombstone grace and anti-entropy interval must not be negative, not %v and %v", p.TombstoneGrace, p.AntiEntropy)
	check(p.Duration > 0 && p.Duration <= 24*time.Hour, "duration must be in (0, 24h], not %v", p.Duration)
	check(p.Liveness > 0 && p.Liveness <= time.Hour, "liveness bound must be in (0, 1h], not %v", p.Liveness)
	n := p.Net
	check(n.LatencyFloor >= 0 && n.LatencyMedian >= 0 && n.LatencyMax > 0, "latencies must be non-negative and the cap positive")
	check(n.LatencySigma >= 0 && n.LatencySigma <= 5, "latency sigma must be 0..5, not %g", n.LatencySigma)
	check(n.Loss >= 0 && n.Loss < 1 && n.Dup >= 0 && n.Dup < 1, "loss and dup must be in [0, 1)")
	check(n.DetectMax >= 0, "detect_max must be non-negative")
	errs = append(errs, validateLinks(n.Links, p.Nodes)...)
	c := p.Client
	check(c.ThinkMax >= 0 && c.Backoff >= 0, "think and backoff must be non-negative")
	check(c.Timeout > 0, "client timeout must be positive, not %v", c.Timeout)
	check(c.Start >= 0 && c.Start < p.Duration, "clients must start within the fault phase [0, %v), not at %v", p.Duration, c.Start)
	check(c.Batch >= 0 && (c.Batch == 0 || !c.Serial && !c.Lock), "batches (weight %d) are plain writes: none in a serial or lock workload", c.Batch)
	check(c.BatchTimeout >= 0, "batch timeout must be non-negative, not %v", c.BatchTimeout)
	check(c.Mix[0] >= 0 && c.Mix[1] >= 0 && c.Mix[2] >= 0 && c.Mix[3] >= 0 && c.CAS >= 0 && c.Counter[0] >= 0 && c.Counter[1] >= 0 &&
		c.Mix[0]+c.Mix[1]+c.Mix[2]+c.Mix[3]+c.CAS+c.Counter[0]+c.Counter[1] > 0,
		"the op mix %v, cas weight %d and counter weights %v must be non-negative with a positive sum", c.Mix, c.CAS, c.Counter)
	check(!c.counters() || c.CounterKeys >= 1 && c.CounterKeys <= 100 && c.IncrDeadline >= c.Timeout,
		"a counter workload needs 1..100 counter keys (not %d) and an increment deadline of at least the timeout (not %v)", c.CounterKeys, c.IncrDeadline)
	check(!c.counters() || !c.Serial && !c.Lock, "counters do not go through Paxos: no counter operations in a serial or lock workload")
	check(!c.Serial || c.Mix[2] == 0, "a serial workload has no deletes (mix %v)", c.Mix)
	check(p.Disk.SyncMin >= 0 && p.Disk.SyncMax >= p.Disk.SyncMin, "disk sync delays must satisfy 0 <= min <= max")
	errs = append(errs, validateScript(p)...)
	if err := p.CrashPoint.validate(p.Nodes); err != nil {
		errs = append(errs, err.Error())
	}
	for i, f := range p.Faults {
		if err := f.validate(p); err != nil {
			errs = append(errs, fmt.Sprintf("fault %d: %v", i, err))
		}
		if i > 0 && f.At < p.Faults[i-1].At {
			errs = append(errs, fmt.Sprintf("fault %d at %v is before fault %d at %v: the schedule must be sorted", i, f.At, i-1, p.Faults[i-1].At))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrParams, strings.Join(errs, "; "))
	}
	return nil
}

// String prints every parameter, one per line, for logs and reports.
func (p Params) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d node(s), rf %d, %d client(s), %d key(s), faults for %v, liveness bound %v\n",
		p.Seed, p.Nodes, p.RF, p.Clients, p.Keys, p.Duration, p.Liveness)
	n := p.Net
	fmt.Fprintf(&b, "  network: latency %v + %v·e^(%.2f·N), cap %v; loss %.3f, dup %.3f; break detected within %v\n",
		n.LatencyFloor, n.LatencyMedian, n.LatencySigma, n.LatencyMax, n.Loss, n.Dup, n.DetectMax)
	if len(n.Links) > 0 {
		fmt.Fprintf(&b, "  uneven links: %v\n", n.Links)
	}
	c := p.Client
	fmt.Fprintf(&b, "  clients: think ≤%v, timeout %v, backoff ≤%v, mix get:set:delete:contains:cas %d:%d:%d:%d:%d, read %v, write %v",
		c.ThinkMax, c.Timeout, c.Backoff, c.Mix[0], c.Mix[1], c.Mix[2], c.Mix[3], c.CAS, c.ReadLevel, c.WriteLevel)
	if c.Start > 0 {
		fmt.Fprintf(&b, ", connecting at %v", c.Start)
	}
	switch {
	case c.Lock:
		b.WriteString("; a lock taken and released with cas")
	case c.Serial:
		b.WriteString("; every op through Paxos")
	}
	if c.counters() {
		levels := "increments at the write level, reads at the read level"
		if c.CounterLevels {
			levels = "each at a drawn level"
		}
		fmt.Fprintf(&b, "; counters incr:read %d:%d on %d key(s) at a time, %s, increments retried for %v",
			c.Counter[0], c.Counter[1], c.CounterKeys, levels, c.IncrDeadline)
	}
	if c.Batch > 0 {
		fmt.Fprintf(&b, "; batches weighing %d", c.Batch)
		if c.BatchTimeout > 0 {
			fmt.Fprintf(&b, " (each attempt waiting %v)", c.BatchTimeout)
		}
	}
	b.WriteString("\n")
	if p.Mutant != "" {
		fmt.Fprintf(&b, "  mutant: %s\n", p.Mutant)
	}
	if p.TombstoneGrace > 0 {
		fmt.Fprintf(&b, "  tombstones: dropped after a grace of %v, anti-entropy every %v\n", p.TombstoneGrace, cmp.Or(p.AntiEntropy, node.DefaultConfig(1).AntiEntropy))
	}
	if p.BatchRetention > 0 {
		fmt.Fprintf(&b, "  batch records: collected after %v\n", p.BatchRetention)
	}
	fmt.Fprintf(&b, "  disk: sync in [%v, %v]\n", p.Disk.SyncMin, p.Disk.SyncMax)
	if p.CrashPoint.On() {
		fmt.Fprintf(&b, "  crash point: %v\n", p.CrashPoint)
	}
	if len(p.Script) > 0 {
		fmt.Fprintf(&b, "  script: %d steps\n", len(p.Script))
		for _, s := range p.Script {
			fmt.Fprintf(&b, "    %v\n", s)
		}
	}
	fmt.Fprintf(&b, "  faults: %d scheduled\n", len(p.Faults))
	for _, f := range p.Faults {
		fmt.Fprintf(&b, "    %v\n", f)
	}
	return b.String()
}
