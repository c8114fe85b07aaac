package stream

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// Node is what a Driver asks of the node it streams for. Every method is
// called on the node's loop, and every callback it takes runs there too,
// in a later turn or (where said) in the same one. The driver never
// modifies the entries and messages it hands over, nor keeps them.
type Node interface {
	// Epoch is the ring epoch the node is at now: the one its arcs are
	// cut at.
	Epoch() uint64
	// Ask sends m to peer as a call that wants one answer; done hears the
	// answer, or nil once timeout has passed, exactly once.
	Ask(peer uint16, m net.Message, timeout time.Duration, done func(net.Message))
	// AskAgain asks peer m until it is answered with something accepted
	// reports true, a few times over some seconds; done hears the last
	// answer (nil if none came).
	AskAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message))
	// Wait is how long the try-th ask of one request (from 0) waits for
	// an answer: the node's schedule for calls asked again.
	Wait(try int) time.Duration
	// Send sends peer m in answer to its request id.
	Send(peer uint16, id uint64, m net.Message)
	// Later calls f after d, on the loop.
	Later(d time.Duration, f func())
	// WithKeys calls f with the store's keys in order, in this turn or a
	// later one (the keys as of the call).
	WithKeys(f func(keys store.Keys))
	// Apply makes es durable and merges them into the store; done hears
	// nil once they are, or why not.
	Apply(es []net.Entry, done func(error))
	// SyncWith starts an exchange of membership with peer, which asked at
	// a ring this node has not heard of.
	SyncWith(peer uint16)
	// Probe counts one arrival at the rare state name (the Probe
	// constants below).
	Probe(name string)
	// Streamed and Compared add to the node's counters: a batch of
	// entries received (in) or sent, and what a comparison did.
	Streamed(in bool, es []net.Entry)
	Compared(c Comparison)
}

// Comparison is what anti-entropy counts: comparisons begun with a peer,
// arcs found to differ, and the sub-spans of those pulled.
type Comparison struct {
	Rounds, Arcs, Spans uint64
}

// The rare states a Driver reaches, counted through Node.Probe (the
// node's coverage probes, node/probe.go).
const (
	// ProbeRepairArcsDiffer: an anti-entropy comparison found arcs whose
	// digests differ from a replica's, and pulled them: a write that
	// hints, read repair and catch-up all missed.
	ProbeRepairArcsDiffer = "repair-arcs-differ"
	// ProbeSyncBehindEpoch: a Sync refused because this node was behind
	// the ring epoch the asker was at (it had not yet heard of a ring
	// change the asker had).
	ProbeSyncBehindEpoch = "sync-behind-epoch"
	// ProbeCatchUpGap: a restarted node's catch-up received entries past
	// its boot marks: it had missed writes while down and streamed them.
	ProbeCatchUpGap = "catchup-gap"
	// ProbeSyncGaveUp: a pull gave up after its Sync went unanswered or
	// refused syncTries times in a row (catch-up, a join's stream or an
	// anti-entropy pull then tries again later).
	ProbeSyncGaveUp = "sync-gave-up"
)

// A Driver runs the protocols that move data between replicas, over the
// pure parts of this package: pulls (Sync and SyncBatch), pushes, serving
// Syncs, digests and the comparisons of anti-entropy. The node owns it
// and calls it on its loop; it reaches peers, the store's durability and
// time only through Node. Fill in every field before the first call.
type Driver struct {
	Node Node
	// Store is the node's table, read by scans and digests; writes to it
	// go through Node.Apply.
	Store *store.Store
	// ID is the node's id, for messages to peers.
	ID uint16
	// RequestTimeout is how long a push waits for half its answer (a
	// pushed batch is made durable before it is answered).
	RequestTimeout time.Duration
	// Refused is how long a pull waits after a refused Sync before it
	// asks again: the peer most often has not heard of the ring yet.
	Refused time.Duration
	// Log receives the driver's log.
	Log *slog.Logger
	// DropIntents is a planted bug (node.MutantStreamDropsIntents): what
	// a stream sends leaves out every state's batch intents.
	DropIntents bool

	// digesting counts the digests being summed, a slice a turn.
	digesting int
}

// syncLimit is about how many bytes one SyncBatch carries.
const syncLimit = 256 << 10

// syncTries bounds how often one Sync is sent without an answer before the
// pull gives up (and catch-up picks another source on its next round);
// the waits double from a quarter of a request timeout to a request
// timeout (Node.Wait), 9.5 s in all (PAPER bug 58).
const syncTries = 5

// Pull streams from peer the entries in spans that marks say this node
// lacks, then calls done.
func (d *Driver) Pull(peer uint16, spans []net.Span, marks []net.Mark, done func(ok bool)) {
	var next func(after []byte, tries int)
	next = func(after []byte, tries int) {
		if tries > syncTries {
			d.Node.Probe(ProbeSyncGaveUp)
			done(false)
			return
		}
		req := &net.Sync{Epoch: d.Node.Epoch(), Spans: spans, Marks: marks, After: after, Limit: syncLimit}
		// A batch usually comes back in milliseconds: a lost request or
		// answer is asked again soon, then with more patience.
		d.Node.Ask(peer, req, d.Node.Wait(tries), func(m net.Message) {
			b, ok := m.(*net.SyncBatch)
			switch {
			case m == nil:
				d.Log.Debug("sync unanswered", "peer", peer, "tries", tries)
				next(after, tries+1)
				return
			case !ok:
				// Refused: most often the peer has not heard of the ring
				// this node asks at yet, and the refusal made it ask; give
				// gossip a moment.
				d.Log.Debug("sync refused", "peer", peer, "tries", tries, "answer", net.Describe(m))
				d.Node.Later(d.Refused, func() { next(after, tries+1) })
				return
			}
			if len(marks) > 0 && len(b.Entries) > 0 {
				d.Node.Probe(ProbeCatchUpGap)
			}
			d.Node.Streamed(true, b.Entries)
			d.Node.Apply(b.Entries, func(err error) {
				switch {
				case err != nil:
					done(false)
				case b.More:
					next(b.Next, 0)
				default:
					done(true)
				}
			})
		})
	}
	next(nil, 0)
}

// Push sends peer every entry this node holds in spans, batch by batch,
// each acknowledged durable before the next: how a leaving node hands its
// ranges to the nodes that gain them.
func (d *Driver) Push(peer uint16, spans []net.Span, done func(ok bool)) {
	var next func(after []byte, tries int)
	next = func(after []byte, tries int) {
		if tries > syncTries {
			done(false)
			return
		}
		d.Node.WithKeys(func(keys store.Keys) {
			es, more, nextKey := ScanKeys(d.Store, keys, spans, nil, after, syncLimit)
			es = d.streamed(es)
			switch {
			case len(es) == 0 && !more:
				done(true)
				return
			case len(es) == 0:
				// The scan walked its bound of keys and found nothing to
				// send: go on from there, in another turn of the loop.
				d.Node.Later(0, func() { next(nextKey, 0) })
				return
			}
			d.Node.Ask(peer, &net.Replicate{Epoch: d.Node.Epoch(), Entries: es}, 2*d.RequestTimeout, func(m net.Message) {
				if _, ok := m.(*net.Done); !ok {
					next(after, tries+1)
					return
				}
				d.Node.Streamed(false, es)
				if !more {
					done(true)
					return
				}
				next(nextKey, 0)
			})
		})
	}
	next(nil, 0)
}

// ServeSync answers a peer's Sync from the store. A peer on a newer ring
// than this node's waits until this node has learned it: from then on this
// node sends the peer every write it coordinates for the ranges the peer
// gains, so nothing falls between the stream and the writes.
func (d *Driver) ServeSync(from uint16, id uint64, m *net.Sync) {
	if epoch := d.Node.Epoch(); m.Epoch > epoch {
		d.Node.Probe(ProbeSyncBehindEpoch)
		d.Node.SyncWith(from)
		d.Node.Send(from, id, &net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d is at ring epoch %d, behind the %d asked at; ask again", d.ID, epoch, m.Epoch)})
		return
	}
	d.Node.WithKeys(func(keys store.Keys) {
		es, more, next := ScanKeys(d.Store, keys, m.Spans, m.Marks, m.After, int(min(m.Limit, syncLimit)))
		es = d.streamed(es)
		d.Node.Streamed(false, es)
		d.Node.Send(from, id, &net.SyncBatch{Entries: es, More: more, Next: next})
	})
}

// Bounds are what a digest leaves out: versions stamped after Horizon
// (none if it is zero), plain tombstones stamped at or before Expired
// (none if it is zero; the node's tombstone rule), and batch records
// stamped at or before Records (none if it is zero; the node's record
// collector).
type Bounds struct {
	Horizon, Expired, Records clock.Timestamp
}

// Compare asks peer for its digests of spans within b, narrows those that
// differ down to the sub-spans that do, pulls those, and tells done
// whether it got the digests and the pull succeeded. It tells equal each
// span found equal.
func (d *Driver) Compare(peer uint16, spans []net.Span, b Bounds, equal func(net.Span), done func(ok bool)) {
	d.Node.Compared(Comparison{Rounds: 1})
	d.Log.Debug("anti-entropy: comparing", "peer", peer, "arcs", len(spans))
	d.narrow(peer, spans, b, 0, equal, func(pull []net.Span, ok bool) {
		if !ok || len(pull) == 0 {
			done(ok)
			return
		}
		d.Node.Compared(Comparison{Spans: uint64(len(pull))})
		d.Log.Info("anti-entropy: replicas differ; pulling", "peer", peer, "spans", len(pull))
		d.Pull(peer, pull, nil, done)
	})
}

// Anti-entropy narrows a difference before it pulls: a span whose digests
// differ and that holds more than refineKeys keys here is cut into
// RefineFanout sub-spans, compared again, down RefineDepth levels below
// the arcs; the spans that differ at the bottom, or hold few keys, are
// pulled. So a round moves about the keys of a few small spans per
// difference (writes in flight make most rounds under load find some),
// not whole arcs, and small tables (the simulator's) pull at once.
const (
	RefineFanout = 16
	RefineDepth  = 2
	refineKeys   = 256
)

// narrow compares spans (depth levels below the arcs) with peer's, tells
// equal each span found equal, and hands done the spans to pull: those
// that differ and are small or at the bottom, and what narrowing the
// others finds.
func (d *Driver) narrow(peer uint16, spans []net.Span, b Bounds, depth int, equal func(net.Span), done func(pull []net.Span, ok bool)) {
	d.Digests(spans, b, func(mine Sums) {
		isReply := func(m net.Message) bool { _, ok := m.(*net.DigestReply); return ok }
		epoch := d.Node.Epoch()
		var ask net.Message = &net.Digest{Epoch: epoch, Spans: spans}
		if !b.Horizon.IsZero() {
			ask = &net.DigestBefore{Epoch: epoch, Spans: spans, Horizon: b.Horizon, Expired: b.Expired, Records: b.Records}
		}
		d.Node.AskAgain(peer, ask, isReply, func(m net.Message) {
			r, ok := m.(*net.DigestReply)
			if !ok || len(r.Sums) != len(spans) {
				d.Log.Debug("anti-entropy: no digest", "peer", peer, "answer", net.Describe(m))
				done(nil, false)
				return
			}
			var pull, big []net.Span
			for i, s := range spans {
				switch {
				case r.Sums[i] == mine.Sums[i]:
					equal(s)
				case depth < RefineDepth && mine.Keys[i] > refineKeys:
					big = append(big, Split(s, RefineFanout)...)
				default:
					pull = append(pull, s)
				}
			}
			if depth == 0 && len(pull)+len(big) > 0 {
				d.Node.Compared(Comparison{Arcs: uint64(len(pull) + len(big)/RefineFanout)})
				d.Node.Probe(ProbeRepairArcsDiffer)
			}
			if len(big) == 0 {
				done(pull, true)
				return
			}
			d.narrow(peer, big, b, depth+1, equal, func(more []net.Span, ok bool) { done(append(pull, more...), ok) })
		})
	})
}

// digestSlice bounds the keys a digest sums in one turn of the loop, and
// maxDigesting the digests being summed at once that a peer's request may
// add to.
const (
	digestSlice  = 8192
	maxDigesting = 4
)

// Digesting is how many digests are being summed now. A node's round of
// anti-entropy skips while any is: rounds must not pile up on the loop.
func (d *Driver) Digesting() int { return d.digesting }

// ServeDigest answers a peer's Digest (or DigestBefore, within b) of
// spans; the caller has checked that the peer asks at this node's ring.
func (d *Driver) ServeDigest(from uint16, id uint64, spans []net.Span, b Bounds) {
	if d.digesting >= maxDigesting {
		// As many walks of the table as the loop should carry at once: the
		// asker's comparison fails, and its next round asks again.
		d.Node.Send(from, id, &net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d is summing %d digests already", d.ID, d.digesting)})
		return
	}
	d.Digests(spans, b, func(s Sums) { d.Node.Send(from, id, &net.DigestReply{Sums: s.Sums}) })
}

// Digests sums the store's digests of spans within b, digestSlice keys per
// turn of the loop, and calls done with them (in the same turn if the
// store is small).
func (d *Driver) Digests(spans []net.Span, b Bounds, done func(Sums)) {
	d.digesting++
	d.Node.WithKeys(func(keys store.Keys) {
		dg := NewDigest(spans, keys, b.Horizon)
		dg.Expired, dg.Records = b.Expired, b.Records
		var step func()
		step = func() {
			if dg.Step(d.Store, digestSlice) {
				d.digesting--
				done(dg.Sums)
				return
			}
			d.Node.Later(0, step)
		}
		step()
	})
}

// streamed is what a stream sends of es: all of it, but with DropIntents
// each state without its batch intents.
func (d *Driver) streamed(es []net.Entry) []net.Entry {
	if !d.DropIntents {
		return es
	}
	out := es[:0:0]
	for _, e := range es {
		if e.Intents {
			v := store.FromEntry(e).Settled()
			if v.Stamp.IsZero() {
				continue
			}
			e = store.Entry(e.Key, v)
		}
		out = append(out, e)
	}
	return out
}
