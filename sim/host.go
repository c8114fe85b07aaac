package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
)

// host is one simulated machine. The process on it lives for one
// incarnation: a crash drops it and bumps nothing but up; a restart builds
// a fresh one under the next incarnation number. Every timer, disk
// completion and delivery remembers the incarnation it was made for and is
// a no-op if the machine has crashed since.
type host struct {
	w       *world
	id      net.NodeID
	inc     uint64
	up      bool
	proc    Process
	disk    *disk.Mem
	diskLat *rand.Rand
	diskAt  time.Duration // the last scheduled disk completion: they run in order
	conns   []*conn       // open client connections, oldest first
	downAt  time.Duration
	// gone is set once the node has left the cluster (a Leave fault): it
	// stopped for good and nothing restarts it.
	gone bool
	// unsettled is set when the process crashed while it was on its way
	// into the ring or out of it — neither a normal member nor left (a
	// join it may resume holds the movement lock); a crashed process no
	// longer says, and the Remove fault must not act meanwhile.
	unsettled bool
	// epoch is the ring epoch the node was last seen at.
	epoch uint64
	// The machine's clock (a Skew fault): it reads clockAt + (now -
	// skewAt) × rate; rate 0 means true time. skewEnd is when the skew
	// under way ends (the clock runs at rate 1 from then on).
	rate    float64
	clockAt time.Duration
	skewAt  time.Duration
	skewEnd time.Duration
	// corruptRand draws where a Corrupt fault flips a bit (made on first
	// use); corrupted is set from a flip until the boot that finds it.
	corruptRand *rand.Rand
	corrupted   bool
	// The process is stopped (a Pause fault, pause.go): held is what
	// arrived for it since pausedAt, in order; pauses numbers the pauses.
	paused   bool
	pausedAt time.Duration
	held     []held
	pauses   int
	// durable is what the store held when the machine last lost power,
	// to hold its next boot to (guarantees.go); nil once checked, or
	// after the disk was replaced.
	durable map[string]store.Version
	// catchUp is what the node's catch-up in progress must bring, and
	// catchUps how many catch-ups the running node has completed
	// (catchup.go).
	catchUp  map[string]catchUpWant
	catchUps uint64
	// watched is when the tombstone watch last looked at the node's store
	// (tombstone.go); setAside is set from a boot that found a Corrupt
	// fault's flipped bit until the next, on the wiped disk: the store
	// holds what replay read up to the damage, which nothing serves.
	watched  time.Duration
	setAside bool
}

// local is what the machine's clock reads at virtual time now.
func (h *host) local() time.Duration {
	if h.rate == 0 {
		return h.w.now
	}
	return h.clockAt + time.Duration(float64(h.w.now-h.skewAt)*h.rate)
}

// setRate makes the machine's clock run at rate from now on (1: true time
// again, though the clock keeps whatever lead or lag it built up).
func (h *host) setRate(rate float64) {
	h.clockAt, h.skewAt, h.rate = h.local(), h.w.now, rate
}

func newHost(w *world, id net.NodeID) *host {
	h := &host{w: w, id: id, diskLat: Stream(w.p.Seed, fmt.Sprintf("disk/%d/latency", id))}
	h.disk = disk.NewMem(Stream(w.p.Seed, fmt.Sprintf("disk/%d", id)), h.scheduleDisk)
	return h
}

// alive reports whether incarnation inc is the one running.
func (h *host) alive(inc uint64) bool { return h.up && h.inc == inc }

// boot starts a new incarnation on the existing disk.
func (h *host) boot() {
	h.inc++
	h.up, h.setAside = true, false
	h.catchUp, h.catchUps = nil, 0
	env := node.Env{
		Clock:     &vclock{h: h, inc: h.inc},
		Transport: &transport{h: h, inc: h.inc},
		Disk:      h.disk,
		Rand:      Stream(h.w.p.Seed, fmt.Sprintf("node/%d/%d", h.id, h.inc)),
		Log:       h.w.logger(h.id),
		Offload:   h.offloader(h.inc),
	}
	cfg := node.DefaultConfig(h.id)
	cfg.Addr, cfg.ReplicationFactor = Addr(h.id), max(h.w.p.RF, 1)
	if h.id != 1 {
		// Every node but the first joins through it (and, once it has
		// joined, through whatever members its log remembers).
		cfg.Seeds = []string{Addr(1)}
	}
	cfg.Log.SegmentSize = h.w.p.Disk.SegmentSize
	cfg.Log.Coalesce = true // callNode flushes
	cfg.Compaction = node.Compaction{MinBytes: h.w.p.Disk.CompactMinBytes, Ratio: 1}
	cfg.Mutant = h.w.p.Mutant
	cfg.TombstoneGrace = -1
	if h.w.p.TombstoneGrace > 0 {
		cfg.TombstoneGrace = h.w.p.TombstoneGrace
	}
	if h.w.p.AntiEntropy > 0 {
		cfg.AntiEntropy = h.w.p.AntiEntropy
	}
	cfg.BatchRetention = -1
	if h.w.p.BatchRetention > 0 {
		cfg.BatchRetention = h.w.p.BatchRetention
	}
	p, err := h.w.newP(cfg, env)
	if err != nil {
		panic(fmt.Sprintf("sim: building node %d: %v", h.id, err))
	}
	h.proc = p
	h.w.callNode(h, func() {
		// No fault the simulator injects may stop a node from booting —
		// but one that left the cluster (and crashed before the leave
		// fault stopped it) rightly refuses: it is gone; and a Corrupt
		// fault's flipped bit is found (below). Any other boot error is a
		// bug, reported like a panic.
		err := p.Start()
		switch {
		case errors.Is(err, node.ErrLeftCluster):
			h.w.after(0, evFaultEnd, h.id, 0, nil, func() {
				h.gone = true
				h.crash()
			})
		case errors.Is(err, oplog.ErrCorrupt) && h.corrupted:
			// A Corrupt fault's flipped bit, found at replay: what memdbd
			// does with -on-corrupt rebuild, it sets the data aside and
			// starts on an empty directory (here the disk is wiped), and
			// the node rebuilds from its replicas. A corrupt log no fault
			// made is a bug, and panics below.
			h.corrupted, h.setAside = false, true
			h.w.logger(h.id).Warn("sim: corrupt log at boot; starting on an empty disk to rebuild", "err", err)
			h.w.stats.CorruptFound++
			h.w.after(0, evFaultEnd, h.id, 0, nil, func() {
				h.crash()
				h.disk.Wipe()
				h.durable = nil
				h.w.forgetGraves(h)
				h.restart()
			})
		case err != nil:
			panic(fmt.Sprintf("node %d failed to boot: %v", h.id, err))
		case h.corrupted:
			// The flip hit a segment the log no longer lists (a crash
			// undid its removal after a compaction): replay removed it.
			h.corrupted = false
			h.w.stats.FaultsSkipped++
			h.checkRestart()
		default:
			h.checkRestart()
		}
	})
}

// flipBit flips one bit of one of the machine's log segments, chosen from
// the "corrupt/<node>" stream (the disk draws which bit): anywhere in a
// complete segment, and short of the last record in the one being written
// (the highest-numbered .log), where replay could not tell a flip from a
// torn tail. It reports whether there was a byte to flip, and marks the
// machine so that its next boot expects to find the damage.
func (h *host) flipBit() bool {
	names, _ := h.disk.List() // sorted: segment names are numbered
	var segs []string
	var room []int // bytes a flip may land in, per segment
	current := -1
	for _, n := range names {
		if !strings.HasSuffix(n, ".log") && !strings.HasSuffix(n, ".base") {
			continue
		}
		b, err := h.disk.ReadFile(n)
		if err != nil || len(b) == 0 {
			continue
		}
		if strings.HasSuffix(n, ".log") {
			current = len(segs)
		}
		segs, room = append(segs, n), append(room, len(b))
	}
	if current >= 0 {
		b, _ := h.disk.ReadFile(segs[current])
		room[current] = lastRecord(b)
	}
	if h.corruptRand == nil {
		h.corruptRand = Stream(h.w.p.Seed, fmt.Sprintf("corrupt/%d", h.id))
	}
	var can []int
	for i, r := range room {
		if r > 0 {
			can = append(can, i)
		}
	}
	if len(can) == 0 {
		return false
	}
	i := can[h.corruptRand.IntN(len(can))]
	if h.disk.FlipBit(segs[i], int64(h.corruptRand.IntN(room[i]))) != nil {
		return false
	}
	h.corrupted = true
	return true
}

// segmentHeader is the size of a log segment's header (node/oplog's
// format: magic 8, version 2, kind 2, segment 8, crc 4).
const segmentHeader = 8 + 2 + 2 + 8 + 4

// lastRecord returns where the last whole record of log segment b starts
// (records are a 4-byte crc, a 4-byte length of what follows it, then
// that), or 0 if it holds fewer than two.
func lastRecord(b []byte) int {
	last, n := 0, 0
	for off := segmentHeader; off+8 <= len(b); {
		end := off + 8 + int(binary.BigEndian.Uint32(b[off+4:]))
		if end > len(b) {
			break
		}
		last, n, off = off, n+1, end
	}
	if n < 2 {
		return 0
	}
	return last
}

// crash powers the machine off: the process is dropped, its connections
// break, and its disk loses what was not synced. What the node acknowledged
// under fsync=always is on disk and comes back when it restarts and replays
// its log; the checker holds it to that.
func (h *host) crash() {
	if !h.up {
		return
	}
	w := h.w
	h.up = false
	h.unpause()
	if in, ok := h.proc.(inspectable); ok {
		h.durable = durableAtCrash(in.Store())
	}
	if t, ok := h.proc.(interface{ Tombstones() (int, uint64) }); ok {
		_, d := t.Tombstones()
		w.dropped += d
	}
	if r, ok := h.proc.(interface{ Records() (int, uint64) }); ok {
		_, d := r.Records()
		w.recordsDropped += d
	}
	if r, ok := h.proc.(interface{ Markers() (int, uint64) }); ok {
		_, d := r.Markers()
		w.markersDropped += d
	}
	w.addProbes(h.proc)
	if nm, ok := h.proc.(interface {
		Normal() bool
		HasLeft() bool
	}); ok {
		h.unsettled = !nm.Normal() && !nm.HasLeft()
	}
	h.proc = nil
	h.downAt = w.now
	for _, c := range h.conns {
		w.breakConn(c, "node crashed", false)
	}
	h.conns = nil
	h.disk.Crash()
	w.stats.Crashes++
}

// supervise restarts a process that stopped itself (Err), after a short
// delay, as systemd would: a power cycle, since the node's memory is no
// longer trusted and its disk may hold unsynced data in any state.
func (h *host) supervise() {
	w := h.w
	w.stats.Supervised++
	h.crash()
	inc := h.inc
	w.after(100*time.Millisecond, evFaultEnd, h.id, 0, nil, func() {
		if !h.up && h.inc == inc {
			h.restart()
		}
	})
}

// restart boots the machine again if it is down.
func (h *host) restart() {
	if h.up || h.gone {
		return
	}
	h.w.windows = append(h.w.windows, linearize.Window{
		Tag: fmt.Sprintf("node %d", h.id), Start: h.downAt, End: h.w.now, Description: "down",
	})
	h.w.stats.Restarts++
	h.boot()
}

// scheduleDisk is the disk's schedule function: f runs on this machine's
// loop after a drawn delay, in order, unless the machine crashes first.
func (h *host) scheduleDisk(f func()) {
	w := h.w
	inc := h.inc
	d := time.Duration(uniform(h.diskLat, int64(w.p.Disk.SyncMin), int64(w.p.Disk.SyncMax)))
	h.diskAt = max(w.now+d, h.diskAt)
	w.at(h.diskAt, evDisk, h.id, 0, nil, func() {
		if h.alive(inc) {
			w.onNode(h, f)
		}
	})
}

// offloader runs offloaded work at once (the simulator has one thread) but
// delivers its completion after virtual time proportional to its cost, so
// the node goes on serving meanwhile, as it does in the live host, and a
// crash can land in between.
func (h *host) offloader(inc uint64) func(cost int, work, done func()) {
	return func(cost int, work, done func()) {
		work()
		if done == nil {
			return
		}
		d := h.w.p.Disk.CompressPerKB * time.Duration(cost/1024+1)
		h.w.after(d, evDisk, h.id, 0, nil, func() {
			if h.alive(inc) {
				h.w.onNode(h, done)
			}
		})
	}
}

// vclock is a node's view of virtual time.
type vclock struct {
	h   *host
	inc uint64
}

var _ clock.Clock = (*vclock)(nil)

func (c *vclock) Now() time.Time { return Epoch.Add(c.h.local()) }

func (c *vclock) AfterFunc(d time.Duration, f func()) clock.Timer {
	h, inc := c.h, c.inc
	e := h.w.after(max(h.trueDuration(d), 0), evTimer, h.id, 0, nil, func() {
		if h.alive(inc) {
			h.w.onNode(h, f)
		}
	})
	return vtimer{e}
}

// trueDuration is how long, in true time from now, the machine's clock
// takes to advance by d: at the skew's rate until the skew under way ends,
// then at the true rate. (A timer set during a skew once ran at the skew's
// rate to the end, however long after the skew it was due: a 10 s timer
// set during a 3 s skew at 0.27 fired 34 s later, and a node ran no
// anti-entropy round for the rest of the run: PAPER §4 bug 55. A timer set
// before a skew keeps the true time it was set for.)
func (h *host) trueDuration(d time.Duration) time.Duration {
	left := h.skewEnd - h.w.now
	if h.rate == 0 || h.rate == 1 || left <= 0 {
		return d
	}
	if in := time.Duration(float64(left) * h.rate); d > in {
		return left + d - in
	}
	return time.Duration(float64(d) / h.rate)
}

// vtimer cancels its event: a stopped timer's event is skipped unhashed.
type vtimer struct{ e *event }

func (t vtimer) Stop() bool {
	if t.e.fn == nil {
		return false
	}
	t.e.fn = nil
	return true
}

// transport is a node's net.Transport over the simulated network.
type transport struct {
	h   *host
	inc uint64
}

var _ net.Transport = (*transport)(nil)

func (t *transport) Send(to net.Peer, f net.Frame) {
	if t.h.alive(t.inc) {
		if m, ok := f.Msg.(*net.Sync); ok {
			t.h.w.expectCatchUp(t.h, t.h.w.resolve(to), m)
		}
		t.h.w.sendPeer(t.h.id, t.h.w.resolve(to), net.Encode(f))
		t.h.w.sentPeer(t.h, f.Msg)
	}
}

func (t *transport) Reply(to net.ConnID, f net.Frame) {
	if t.h.alive(t.inc) {
		t.h.w.reply(t.h, to, net.Encode(f))
	}
}
