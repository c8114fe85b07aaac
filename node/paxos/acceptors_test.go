package paxos

import (
	"fmt"
	"testing"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/node/oplog"
	"pgregory.net/rapid"
)

func b(c uint64, n uint16) clock.Timestamp { return clock.Timestamp{Counter: c, Node: n} }

var k = []byte("k")

// Below floors every key: a dropped tombstone took its key's committed
// stamp with it, and a prepare or proposal drawn below that stamp is
// still refused, on a key the table knows nothing of, with Below as the
// floor to beat.
func TestBelowFloorsEveryKey(t *testing.T) {
	a := NewAcceptors()
	a.Below = b(9, 2)
	if _, floor, ok := a.Promise(k, clock.Timestamp{}, b(8, 3)); ok || floor != b(9, 2) {
		t.Fatalf("Promise below Below: ok %v, floor %v; want refused, floor %v", ok, floor, b(9, 2))
	}
	if v, _, no := a.Accept(k, clock.Timestamp{}, b(9, 1), []byte("x")); v != Refused || no.Promised != b(9, 2) {
		t.Fatalf("Accept below Below: %v, refusal %+v; want refused at %v", v, no, b(9, 2))
	}
	if _, _, ok := a.Promise(k, clock.Timestamp{}, b(9, 3)); !ok {
		t.Fatal("Promise above Below refused")
	}
	if _, floor, _ := a.Promise([]byte("other"), b(12, 1), b(11, 1)); floor != b(12, 1) {
		t.Fatalf("a committed stamp above Below: floor %v, want %v", floor, b(12, 1))
	}
}

func TestPromise(t *testing.T) {
	tests := []struct {
		name      string
		promised  clock.Timestamp // promised before, zero for none
		committed clock.Timestamp
		ballot    clock.Timestamp
		ok        bool
		floor     clock.Timestamp
		records   int
	}{
		{"first", clock.Timestamp{}, clock.Timestamp{}, b(5, 1), true, clock.Timestamp{}, 1},
		{"higher", b(5, 1), clock.Timestamp{}, b(6, 2), true, b(5, 1), 1},
		{"duplicate", b(5, 1), clock.Timestamp{}, b(5, 1), true, b(5, 1), 0},
		{"lower", b(5, 1), clock.Timestamp{}, b(4, 9), false, b(5, 1), 0},
		{"below the committed stamp", clock.Timestamp{}, b(7, 1), b(6, 1), false, b(7, 1), 0},
		{"at the committed stamp", clock.Timestamp{}, b(7, 1), b(7, 1), false, b(7, 1), 0},
		{"node breaks the tie", b(5, 1), clock.Timestamp{}, b(5, 2), true, b(5, 1), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAcceptors()
			if !tt.promised.IsZero() {
				a.Promise(k, clock.Timestamp{}, tt.promised)
			}
			recs, floor, ok := a.Promise(k, tt.committed, tt.ballot)
			if ok != tt.ok || floor != tt.floor || len(recs) != tt.records {
				t.Fatalf("Promise(%v) = %d records, floor %v, %v; want %d, %v, %v", tt.ballot, len(recs), floor, ok, tt.records, tt.floor, tt.ok)
			}
			if ok && len(recs) == 1 && (recs[0].Type != oplog.TypePromise || recs[0].Stamp != tt.ballot) {
				t.Errorf("record %+v, want a promise at %v", recs[0], tt.ballot)
			}
		})
	}
}

func TestAccept(t *testing.T) {
	a := NewAcceptors()
	a.Promise(k, clock.Timestamp{}, b(5, 1))
	if v, recs, _ := a.Accept(k, clock.Timestamp{}, b(5, 1), []byte("x")); v != Took || len(recs) != 1 || recs[0].Type != oplog.TypeAccept {
		t.Fatalf("Accept at the promise = %v, %v; want took with one accept record", v, recs)
	}
	// A higher promise, then the same proposal again (duplicated): taken.
	a.Promise(k, clock.Timestamp{}, b(9, 2))
	if v, recs, _ := a.Accept(k, clock.Timestamp{}, b(5, 1), []byte("x")); v != Duplicate || len(recs) != 0 {
		t.Fatalf("a duplicate proposal = %v, %v; want duplicate, no records (bug 13)", v, recs)
	}
	// Another proposal below the promise: refused, showing the acceptance.
	v, _, no := a.Accept(k, clock.Timestamp{}, b(6, 3), []byte("y"))
	if v != Refused || no != (Refusal{Promised: b(9, 2), Accepted: b(5, 1)}) {
		t.Fatalf("a proposal below the promise = %v, %+v; want refused, promised 9.2, accepted 5.1", v, no)
	}
	// Committed at a ballot: a late proposal at it changes nothing.
	if v, recs, _ := a.Accept(k, b(9, 2), b(9, 2), []byte("z")); v != Committed || len(recs) != 0 {
		t.Fatalf("a proposal at the committed ballot = %v, %v; want committed", v, recs)
	}
	if s, _ := a.Get(k); string(s.Value) != "x" {
		t.Errorf("state %+v: a refused or committed proposal changed the value", s)
	}
}

func TestSettleAndInProgress(t *testing.T) {
	a := NewAcceptors()
	a.Promise(k, clock.Timestamp{}, b(5, 1))
	a.Accept(k, clock.Timestamp{}, b(5, 1), []byte("x"))
	if got, v := a.InProgress(k, b(3, 1)); got != b(5, 1) || string(v) != "x" {
		t.Errorf("InProgress over 3.1 = %v %q, want 5.1 x", got, v)
	}
	if got, _ := a.InProgress(k, b(5, 1)); !got.IsZero() {
		t.Errorf("InProgress once committed at 5.1 = %v, want none", got)
	}
	a.Settle(k, b(4, 1))
	if a.Len() != 1 {
		t.Fatal("settled by an older version")
	}
	a.Settle(k, b(5, 1))
	if a.Len() != 0 {
		t.Fatal("not settled by the version that committed it")
	}
}

// op is one step of a random acceptor history.
type op struct {
	Kind      string
	Ballot    clock.Timestamp
	Committed clock.Timestamp
}

func drawOps(t *rapid.T) []op {
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) op {
		return op{
			Kind:      rapid.SampledFrom([]string{"promise", "accept", "settle"}).Draw(t, "kind"),
			Ballot:    b(rapid.Uint64Range(1, 8).Draw(t, "counter"), rapid.Uint16Range(1, 3).Draw(t, "node")),
			Committed: b(rapid.Uint64Range(0, 6).Draw(t, "committed"), 1),
		}
	}), 1, 40).Draw(t, "ops")
}

// The durability contract, as a property: replaying exactly the records
// the table returned (what a crash leaves) rebuilds the table, and so
// does replaying the records it gives a compaction. So no answer the
// caller sent after persisting rests on state a crash can take back.
func TestRecordsRebuildTheTable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := NewAcceptors()
		var logged []oplog.Record
		committed := clock.Timestamp{}
		for _, o := range drawOps(t) {
			// The committed stamp only rises, as the store's does.
			committed = committed.Max(o.Committed)
			switch o.Kind {
			case "promise":
				recs, _, _ := a.Promise(k, committed, o.Ballot)
				logged = append(logged, recs...)
			case "accept":
				_, recs, _ := a.Accept(k, committed, o.Ballot, []byte(o.Ballot.String()))
				logged = append(logged, recs...)
			case "settle":
				a.Settle(k, committed)
			}
		}
		a.Settle(k, committed)
		for name, recs := range map[string][]oplog.Record{"log": logged, "compaction": collect(a)} {
			b := NewAcceptors()
			for _, r := range recs {
				b.Replay(r, committed)
			}
			// What an acceptor answers rests on its floor and the
			// proposal it holds in progress; an accepted proposal at or
			// below the committed stamp is settled, kept or not.
			wantP, wantV := a.InProgress(k, committed)
			gotP, gotV := b.InProgress(k, committed)
			if a.Floor(k, committed) != b.Floor(k, committed) || wantP != gotP || string(wantV) != string(gotV) {
				t.Fatalf("replaying the %s records (%d): floor %v, in progress %v %q; live: floor %v, in progress %v %q",
					name, len(recs), b.Floor(k, committed), gotP, gotV, a.Floor(k, committed), wantP, wantV)
			}
		}
	})
}

func collect(a *Acceptors) []oplog.Record {
	var recs []oplog.Record
	a.Records(func(r oplog.Record) bool { recs = append(recs, r); return true })
	return recs
}

// An acceptor never goes back on a promise: once it promised p, it takes
// no proposal below p, and its floor never falls.
func TestPromiseIsKept(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := NewAcceptors()
		var promised clock.Timestamp
		committed := clock.Timestamp{}
		floor := clock.Timestamp{}
		for i, o := range drawOps(t) {
			committed = committed.Max(o.Committed)
			switch o.Kind {
			case "promise":
				if _, _, ok := a.Promise(k, committed, o.Ballot); ok {
					promised = promised.Max(o.Ballot)
				}
			case "accept":
				before, _ := a.Get(k)
				v, _, _ := a.Accept(k, committed, o.Ballot, nil)
				if v == Took && o.Ballot.Less(promised) {
					t.Fatalf("step %d: took %v after promising %v", i, o.Ballot, promised)
				}
				if v == Duplicate && before.Accepted != o.Ballot {
					t.Fatalf("step %d: a duplicate of %v, which it never took (took %v)", i, o.Ballot, before.Accepted)
				}
			case "settle":
				a.Settle(k, committed)
			}
			f := a.Floor(k, committed)
			if f.Less(floor) {
				t.Fatalf("step %d (%s %v): floor fell from %v to %v", i, o.Kind, o.Ballot, floor, f)
			}
			floor = f
		}
	})
}

func ExampleAcceptors() {
	a := NewAcceptors()
	recs, _, ok := a.Promise(k, clock.Timestamp{}, b(5, 1))
	fmt.Println(ok, len(recs), recs[0].Type)
	v, recs, _ := a.Accept(k, clock.Timestamp{}, b(5, 1), []byte("x"))
	fmt.Println(v, len(recs), recs[0].Type)
	_, _, ok = a.Promise(k, clock.Timestamp{}, b(4, 2))
	fmt.Println(ok)
	// Output:
	// true 1 promise
	// took 1 accept
	// false
}
