package nodetest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/store"
)

// Cluster is several nodes, a manual network and manual disks, on one
// virtual clock. Nothing happens until a method says so. It is not safe
// for concurrent use.
type Cluster struct {
	now      time.Time
	timers   timers
	timerSeq uint64
	hosts    map[net.NodeID]*Host
	msgs     []Msg
	nextReq  uint64

	// Configure, if set, adjusts each node's configuration before it is
	// first built (AddNodes).
	Configure func(*node.Config)
	// ShowGossip prints gossip frames like any other; by default they are
	// sent and delivered unprinted.
	ShowGossip bool
	// Log receives the nodes' debug logs; nil discards them.
	Log io.Writer
	// Replies holds the last answer to each client request, by request
	// number.
	Replies map[uint64]net.Message

	out   strings.Builder
	fx    *[]effect // effects of the step under way, if any
	quiet int       // while positive, steps and effects are not printed
}

// New returns an empty cluster at time Start.
func New() *Cluster {
	return &Cluster{now: Start, hosts: make(map[net.NodeID]*Host), Replies: make(map[uint64]net.Message)}
}

// Host is one machine: a disk that outlives crashes, and the node of the
// current incarnation (nil while down).
type Host struct {
	c       *Cluster
	id      net.NodeID
	cfg     node.Config
	mem     *disk.Mem
	n       *node.Node
	inc     uint64
	up      bool
	broken  bool
	disk    []diskOp // completions waiting for SyncDisk
	label   string   // what the disk call under way syncs (disk.go)
	started bool
}

func (h *Host) name() string { return fmt.Sprintf("n%d", h.id) }

// alive reports whether incarnation inc is the one running.
func (h *Host) alive(inc uint64) bool { return h.up && h.inc == inc }

// call runs fn on the node and reports, once, that the node broke.
func (h *Host) call(fn func()) {
	fn()
	if h.n != nil && !h.broken && h.n.Err() != nil {
		h.broken = true
		h.c.effect("%s broke: %v", h.name(), h.n.Err())
	}
}

// Node returns node id's current incarnation, nil while it is down.
func (c *Cluster) Node(id int) *node.Node { return c.host(id).n }

func (c *Cluster) host(id int) *Host {
	h := c.hosts[net.NodeID(id)]
	if h == nil {
		panic(fmt.Sprintf("nodetest: no node %d", id))
	}
	return h
}

// IDs returns the nodes' ids in order.
func (c *Cluster) IDs() []net.NodeID {
	ids := make([]net.NodeID, 0, len(c.hosts))
	for id := range c.hosts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// AddNodes adds n machines with the next free ids, replication factor rf,
// each with an empty disk; none is started. Every node but node 1 has
// node 1 as its seed, as in the simulator.
func (c *Cluster) AddNodes(n, rf int) []net.NodeID {
	var added []net.NodeID
	for range n {
		id := net.NodeID(len(c.hosts) + 1)
		cfg := node.DefaultConfig(id)
		cfg.Addr, cfg.ReplicationFactor = fmt.Sprintf("node-%d", id), rf
		// Tombstones are kept, as in the simulator, unless a test
		// configures a grace: the scripts print every store.
		cfg.TombstoneGrace = -1
		if id != 1 {
			cfg.Seeds = []string{"node-1"}
		}
		if c.Configure != nil {
			c.Configure(&cfg)
		}
		h := &Host{c: c, id: id, cfg: cfg}
		h.mem = disk.NewMem(rand.New(rand.NewPCG(uint64(id), 0)), h.schedule)
		c.hosts[id] = h
		added = append(added, id)
	}
	return added
}

// Start boots node id on its disk (a new incarnation): it replays the
// log and starts. A refusal to start is printed.
func (c *Cluster) Start(id int) error {
	h := c.host(id)
	if h.up {
		panic(fmt.Sprintf("nodetest: node %d is already up", id))
	}
	h.inc++
	h.up, h.broken, h.started = true, false, true
	lw := c.Log
	if lw == nil {
		lw = io.Discard
	}
	env := node.Env{
		Clock:     hostClock{h, h.inc},
		Transport: transport{h, h.inc},
		Disk:      hostFS{h.mem, h},
		Rand:      rand.New(rand.NewPCG(uint64(h.id), h.inc)),
		Log:       slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", h.id),
	}
	n, err := node.New(h.cfg, env)
	if err != nil {
		panic(fmt.Sprintf("nodetest: building node %d: %v", id, err))
	}
	h.n = n
	c.step("start "+h.name(), false, func() { err = n.Start() })
	if err != nil {
		c.effect("%s refused to start: %v", h.name(), err)
		h.up, h.n = false, nil
	}
	return err
}

// Crash powers node id off: the node is dropped, its pending disk
// completions never run, and its disk keeps what was synced (disk.Mem's
// crash rules decide the unsynced tail, from a PRNG seeded by the id).
// Messages to it that are still queued are lost when delivered.
func (c *Cluster) Crash(id int) {
	h := c.host(id)
	if !h.up {
		return
	}
	h.up, h.n, h.disk = false, nil, nil
	h.mem.Crash()
}

// Request sends client request m to node id on a connection of its own
// and returns the request's number, which its reply carries (#N). The
// frame crosses encoded. The reply is printed when it comes.
func (c *Cluster) Request(id int, m net.Message) uint64 {
	h := c.host(id)
	c.nextReq++
	r := c.nextReq
	f, err := decode(net.Encode(net.Frame{ID: r, Msg: m}))
	if err != nil {
		panic(fmt.Sprintf("nodetest: request %s does not decode: %v", FormatMessage(m), err))
	}
	c.step(fmt.Sprintf("request %s %s", h.name(), FormatFrame(f)), true, func() {
		if !h.up {
			c.effect("%s is down", h.name())
			return
		}
		h.call(func() { h.n.Request(net.ConnID(r), f) })
	})
	return r
}

// reply records and prints a client reply; replies are printed even while
// the cluster runs quietly.
func (c *Cluster) reply(h *Host, conn net.ConnID, f net.Frame) {
	c.Replies[uint64(conn)] = f.Msg
	line := fmt.Sprintf("reply %s %s", h.name(), FormatFrame(f))
	if c.quiet > 0 {
		c.printf("%s %s\n", c.Elapsed(), line)
		return
	}
	c.effect("%s", line)
}

// Stabilize delivers every queued message and completes every pending
// disk operation, again and again, until none is left. Time stands still.
// A disk completion is printed only if it caused something beyond more
// disk operations (a message, a reply).
func (c *Cluster) Stabilize() {
	for round := 0; ; round++ {
		if round > 100000 {
			panic("nodetest: Stabilize did not settle in 100000 rounds")
		}
		did := c.Deliver(Filter{Gossip: true}, -1, false, false)
		for _, id := range c.IDs() {
			did += c.syncDisk(int(id), -1, false)
		}
		if did == 0 {
			return
		}
	}
}

// Quietly runs fn printing nothing but client replies.
func (c *Cluster) Quietly(fn func()) {
	c.quiet++
	defer func() { c.quiet-- }()
	fn()
}

// Output returns what was printed since the last call, and forgets it.
func (c *Cluster) Output() string {
	s := c.out.String()
	c.out.Reset()
	return s
}

func (c *Cluster) printf(format string, args ...any) { fmt.Fprintf(&c.out, format, args...) }

// effect is one printed consequence of a step. A minor one (a disk
// operation queued) is printed under its step but does not make a hidden
// step (a gossip delivery, a timer) worth printing.
type effect struct {
	line  string
	minor bool
}

// effect prints a consequence of the step under way, indented under it.
func (c *Cluster) effect(format string, args ...any) { c.addEffect(false, format, args...) }

func (c *Cluster) addEffect(minor bool, format string, args ...any) {
	if c.quiet > 0 {
		return
	}
	e := effect{fmt.Sprintf(format, args...), minor}
	if c.fx != nil {
		*c.fx = append(*c.fx, e)
		return
	}
	c.printf("%s\n", e.line)
}

// step runs fn, one event, and prints header with the effects fn had
// beneath it: always if show, else only if some effect was not minor.
func (c *Cluster) step(header string, show bool, fn func()) {
	var fx []effect
	outer := c.fx
	c.fx = &fx
	fn()
	c.fx = outer
	if c.quiet > 0 || !(show || slices.ContainsFunc(fx, func(e effect) bool { return !e.minor })) {
		return
	}
	if outer != nil {
		*outer = append(*outer, effect{line: header})
		for _, e := range fx {
			*outer = append(*outer, effect{"  " + e.line, e.minor})
		}
		return
	}
	c.printf("%s\n", header)
	for _, e := range fx {
		c.printf("  %s\n", e.line)
	}
}

// ringView is the part of node.RingJSON the status shows.
type ringView struct {
	Epoch   uint64 `json:"epoch"`
	Members []struct {
		ID    uint16 `json:"id"`
		Phase string `json:"phase"`
		State string `json:"state"`
	} `json:"members"`
}

// Status describes each node: up or down, its ring epoch and how it sees
// every member (phase, and liveness if not alive), and what is queued.
func (c *Cluster) Status() string {
	var b strings.Builder
	for _, id := range c.IDs() {
		h := c.hosts[id]
		switch {
		case !h.started:
			fmt.Fprintf(&b, "%s: not started\n", h.name())
			continue
		case !h.up:
			fmt.Fprintf(&b, "%s: down\n", h.name())
			continue
		}
		var rv ringView
		raw, _ := json.Marshal(h.n.RingJSON())
		if err := json.Unmarshal(raw, &rv); err != nil {
			panic(fmt.Sprintf("nodetest: node %d's ring: %v", id, err))
		}
		var ms []string
		for _, m := range rv.Members {
			s := fmt.Sprintf("%d:%s", m.ID, m.Phase)
			if m.State != "alive" {
				s += "/" + m.State
			}
			ms = append(ms, s)
		}
		fmt.Fprintf(&b, "%s: epoch=%d members=[%s]", h.name(), rv.Epoch, strings.Join(ms, " "))
		if h.broken {
			fmt.Fprintf(&b, " broken")
		}
		if len(h.disk) > 0 {
			fmt.Fprintf(&b, " disk-pending=%d", len(h.disk))
		}
		b.WriteByte('\n')
	}
	if len(c.msgs) > 0 {
		fmt.Fprintf(&b, "queued messages: %d\n", len(c.msgs))
	}
	return b.String()
}

// MoveKey is the system key that holds the movement lock (node/movement).
const MoveKey = movement.Key

// Store describes node id's table, key by key, or only key if it is not
// empty ("move" is MoveKey).
func (c *Cluster) Store(id int, key string) string {
	if key == "move" {
		key = MoveKey
	}
	h := c.host(id)
	if h.n == nil {
		return h.name() + ": down\n"
	}
	var b strings.Builder
	s := h.n.Store()
	for k := range s.Keys().All() {
		if key != "" && k != key {
			continue
		}
		v, _ := s.Get([]byte(k))
		var f fields
		if v.Kind == store.Counter {
			c, err := store.CounterValue(v)
			f.add("", text([]byte(k))).add("counter", fmt.Sprint(c)).add("slots", slots(v.Value)+"@"+v.Stamp.String())
			if err != nil {
				f.add("err", err.Error())
			}
			b.WriteString(f.String() + "\n")
			continue
		}
		f.add("", text([]byte(k))).version(v.Live(), v.Stamp, v.Value)
		if len(v.Intents()) > 0 {
			f.add("intents", intents(v))
		}
		b.WriteString(f.String() + "\n")
	}
	if b.Len() == 0 {
		return "empty\n"
	}
	return b.String()
}

// Acceptors describes node id's live Paxos acceptor state, key by key.
func (c *Cluster) Acceptors(id int) string {
	h := c.host(id)
	if h.n == nil {
		return h.name() + ": down\n"
	}
	var b strings.Builder
	for _, a := range h.n.Acceptors() {
		var f fields
		f.add("", text([]byte(a.Key))).stamp("promised", a.Promised).stamp("accepted", a.Accepted)
		if !a.Accepted.IsZero() {
			f.add("value", text(a.Value))
		}
		b.WriteString(f.String() + "\n")
	}
	if b.Len() == 0 {
		return "none\n"
	}
	return b.String()
}
