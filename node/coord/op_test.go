package coord

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
	"pgregory.net/rapid"
)

// TestOpScripts runs the scripts under testdata/ops: each drives one table
// of ops (node 1's, request timeout 2s) through answers and deadlines and
// prints what each event has the node do. Regenerate the expected output
// with go test ./node/coord -run TestOpScripts -rewrite.
//
// Commands:
//
//	ops [repair-async]            a fresh table (the default one exists)
//	write id=N groups=1,2,3[/1,2,4] level=quorum [done=counter:V] [delta=D] [stamp=C]
//	read id=N groups=... level=... [ask=1,2,3] [contains] [counter]
//	route id=N r=R up=BOOL         how the write reaches replica R
//	ack|refuse id=N r=R            a replica's answer to a write
//	value id=N r=R [v=VAL@C|deleted@C|intent:VAL@C|none]   a replica's state for a read
//	repaired|unrepaired id=N r=R   a repair's answer
//	decided id=N [v=VAL@C]         an intent a read asked about (none: undecided)
//	unresolved id=N                its record could not be looked up
//	timeout id=N                   the op's deadline
//	restamp id=N new=M             a refusal of the write's stamp
//	fenced id=N r=R                a replica's refusal of the write as made on an older ring
//	resend id=N groups=... epoch=E the node's ring moved on: the write goes to its groups
//	hint-entry id=N                what the write keeps for a replica
func TestOpScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/ops", func(t *testing.T, path string) {
		t.Parallel()
		ops := NewOps(Config{ID: 1, Timeout: 2 * time.Second})
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "ops" {
				ops = NewOps(Config{ID: 1, Timeout: 2 * time.Second, RepairAsync: d.HasArg("repair-async")})
				return ""
			}
			id := uint64(argInt(t, d, "id", 0))
			o := ops.Get(id)
			if o == nil && d.Cmd != "write" && d.Cmd != "read" {
				d.Fatalf(t, "no op %d", id)
			}
			switch d.Cmd {
			case "write":
				stamp := clock.Timestamp{Counter: uint64(argInt(t, d, "stamp", 7)), Node: 1}
				e := store.Entry([]byte("k"), store.RegisterAt([]byte("v"), false, stamp))
				if delta := argInt(t, d, "delta", 0); delta != 0 {
					e = store.Entry([]byte("k"), store.CounterAt([]store.Slot{{Node: 1, Gen: 9, Version: stamp.Counter, P: 10, N: 2}}))
					defer func() { o.Delta = int64(delta) }()
				}
				gs := groupsArg(t, d)
				o = ops.Write(id, NewWrite(e, levelArg(t, d), gs, gs.All(), 1), 0)
				if d.HasArg("done") {
					var s string
					d.ScanArgs(t, "done", &s)
					v, _ := strconv.ParseInt(strings.TrimPrefix(s, "counter:"), 10, 64)
					o.Done = &net.CounterValue{Value: v}
				}
				return fmt.Sprintf("op %d asks %v", o.ID, o.W.Asked)
			case "read":
				gs := groupsArg(t, d)
				o = ops.Read(id, NewRead([]byte("k"), levelArg(t, d), gs, d.HasArg("contains")), 0)
				o.Counter = d.HasArg("counter")
				ask := gs.All()
				if d.HasArg("ask") {
					ask = idsArg(t, d, "ask")
				}
				for _, r := range ask {
					o.R.Ask(r)
				}
				return fmt.Sprintf("op %d asks %v", o.ID, o.R.Asked)
			case "route":
				var up bool
				d.ScanArgs(t, "up", &up)
				return o.Route(uint16(argInt(t, d, "r", 0)), up).String()
			case "ack":
				return show(o.WriteAnswered(uint16(argInt(t, d, "r", 0)), nil))
			case "refuse":
				return show(o.WriteAnswered(uint16(argInt(t, d, "r", 0)), fmt.Errorf("node %d: refused", argInt(t, d, "r", 0))))
			case "value":
				return show(o.ReadAnswered(uint16(argInt(t, d, "r", 0)), versionArg(t, d)))
			case "repaired":
				return show(o.Repaired(uint16(argInt(t, d, "r", 0)), nil))
			case "unrepaired":
				return show(o.Repaired(uint16(argInt(t, d, "r", 0)), fmt.Errorf("refused")))
			case "decided":
				return show(o.Decided(versionArg(t, d), d.HasArg("v")))
			case "unresolved":
				return show(o.Unresolved(fmt.Errorf("reading the batch's record: unavailable")))
			case "timeout":
				if o.W != nil {
					return show(o.WriteTimedOut())
				}
				return show(o.ReadTimedOut())
			case "restamp":
				if !o.Restamp() {
					return "refused: answer as a refusal"
				}
				ops.Renumber(o, uint64(argInt(t, d, "new", 0)))
				o.W.Restamp(clock.Timestamp{Counter: 20, Node: 1})
				return fmt.Sprintf("op %d now (op %d: %v), stamp %v, asks %v", o.ID, id, ops.Get(id) != nil, o.W.Entry.Stamp, o.W.Asked)
			case "fenced":
				if o.W.Fenced(uint16(argInt(t, d, "r", 0))) {
					return "resend scheduled"
				}
				return "nothing"
			case "resend":
				gs := groupsArg(t, d)
				o.W.Resend(gs, gs.All(), uint64(argInt(t, d, "epoch", 0)))
				var again []uint16
				for _, r := range gs.All() {
					if o.W.Reask(r) {
						again = append(again, r)
					}
				}
				return fmt.Sprintf("epoch %d, asks again %v of %v\n%s", o.W.Epoch, again, o.W.Asked, show(o.Resent()))
			case "hint-entry":
				e := o.HintEntry()
				if slots, err := store.Slots(store.FromEntry(e)); err == nil {
					return fmt.Sprintf("counter %+v", slots)
				}
				return fmt.Sprintf("%s=%s@%v", e.Key, e.Value, e.Stamp)
			}
			d.Fatalf(t, "unknown command %q", d.Cmd)
			return ""
		})
	})
}

// show prints what a Do has the node do, one line an action, in the order
// the node carries them out.
func show(d Do) string {
	var b strings.Builder
	if len(d.Hint) > 0 {
		fmt.Fprintf(&b, "hint %v\n", d.Hint)
	}
	if len(d.Resolve) > 0 {
		fmt.Fprintf(&b, "resolve %d intents\n", len(d.Resolve))
	}
	if len(d.Repair) > 0 {
		w := "no answer wanted"
		if d.Wait {
			w = "wait"
		}
		fmt.Fprintf(&b, "repair %v (%s)\n", d.Repair, w)
	}
	if d.Msg != nil {
		fmt.Fprintf(&b, "reply %s: %s\n", d.Reply, msg(d.Msg))
	} else if d.Reply != Wait {
		fmt.Fprintf(&b, "decided %s, nothing said\n", d.Reply)
	}
	if d.Finish {
		b.WriteString("finish\n")
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

func msg(m net.Message) string {
	switch m := m.(type) {
	case *net.Error:
		return fmt.Sprintf("error %v %q", m.Code, m.Message)
	case *net.Done:
		return fmt.Sprintf("done %v", m.Version)
	case *net.Value:
		return fmt.Sprintf("value found=%v %q @%v", m.Found, m.Value, m.Version)
	case *net.Bool:
		return fmt.Sprintf("bool %v", m.Value)
	case *net.CounterValue:
		return fmt.Sprintf("counter %d", m.Value)
	}
	return fmt.Sprintf("%T%+v", m, m)
}

func argInt(t *testing.T, d *datadriven.TestData, key string, def int) int {
	if !d.HasArg(key) {
		return def
	}
	var v int
	d.ScanArgs(t, key, &v)
	return v
}

func idsArg(t *testing.T, d *datadriven.TestData, key string) []uint16 {
	var s string
	d.ScanArgs(t, key, &s)
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(f)
		if err != nil {
			d.Fatalf(t, "%s: %v", key, err)
		}
		out = append(out, uint16(v))
	}
	return out
}

func groupsArg(t *testing.T, d *datadriven.TestData) quorum.Joint {
	var s string
	d.ScanArgs(t, "groups", &s)
	var gs quorum.Joint
	for _, g := range strings.Split(s, "/") {
		var ids []uint16
		for _, f := range strings.Split(g, ",") {
			v, err := strconv.Atoi(f)
			if err != nil {
				d.Fatalf(t, "groups: %v", err)
			}
			ids = append(ids, uint16(v))
		}
		gs = append(gs, ids)
	}
	return gs
}

func levelArg(t *testing.T, d *datadriven.TestData) net.Consistency {
	var s string
	d.ScanArgs(t, "level", &s)
	for _, l := range []net.Consistency{net.Default, net.One, net.Quorum, net.All} {
		if l.String() == s {
			return l
		}
	}
	d.Fatalf(t, "level %q", s)
	return 0
}

// versionArg is v=VAL@C (a register), deleted@C (a tombstone),
// intent:VAL@C (a batch's undecided intent) or none (or no v: nothing
// held).
func versionArg(t *testing.T, d *datadriven.TestData) store.Version {
	if !d.HasArg("v") {
		return store.Version{}
	}
	var s string
	d.ScanArgs(t, "v", &s)
	if s == "none" {
		return store.Version{}
	}
	val, c, ok := strings.Cut(s, "@")
	n, err := strconv.Atoi(c)
	if !ok || err != nil {
		d.Fatalf(t, "v=%s: want VAL@C", s)
	}
	at := clock.Timestamp{Counter: uint64(n), Node: 2}
	if v, ok := strings.CutPrefix(val, "intent:"); ok {
		return store.IntentAt(store.Intent{Token: []byte("t"), Stamp: at, Value: []byte(v)})
	}
	if val == "deleted" {
		return store.RegisterAt(nil, true, at)
	}
	return store.RegisterAt([]byte(val), false, at)
}

func TestUnreachable(t *testing.T) {
	three := quorum.Joint{ids(1, 2, 3)}
	tests := []struct {
		name   string
		groups quorum.Joint
		live   []uint16
		level  net.Consistency
		want   *net.Error
	}{
		{"no ring", nil, nil, net.One, &net.Error{Code: net.CodeUnavailable, Message: "no node owns this key yet (node 1 has no ring; is it still joining?)"}},
		{"a quorum is up", three, ids(1, 3), net.Default, nil},
		{"a quorum is not", three, ids(3), net.Default, &net.Error{Code: net.CodeUnavailable, Message: "quorum write needs replicas [[1 2 3]] at that level, only [3] are up; nothing was done"}},
		{"all needs all", three, ids(1, 2), net.All, &net.Error{Code: net.CodeUnavailable, Message: "all write needs replicas [[1 2 3]] at that level, only [1 2] are up; nothing was done"}},
		{"one needs one in each group", quorum.Joint{ids(1, 2, 3), ids(2, 3, 4)}, ids(1), net.One, &net.Error{Code: net.CodeUnavailable, Message: "one write needs replicas [[1 2 3] [2 3 4]] at that level, only [1] are up; nothing was done"}},
	}
	for _, tt := range tests {
		got := Unreachable("write", tt.groups, tt.live, tt.level, 1)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: Unreachable(write, %v, live %v, %v) (-want +got):\n%s", tt.name, tt.groups, tt.live, tt.level, diff)
		}
	}
}

// Whatever the answers — from any replica, in any number, of any kind —
// refusals of the stamp, fences, resends and deadlines, each replica asked
// has one answer at most (Write.check), and a write op tells its client once — a Done only with the
// stamp it then holds — and finishes once; after that every event is the
// zero Do. A reply's message is there exactly when its Step says the
// client hears.
func TestOpWriteProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gs := drawJoint(t)
		level := rapid.SampledFrom([]net.Consistency{net.One, net.Quorum, net.All, net.Default}).Draw(t, "level")
		ops := NewOps(Config{ID: 1, Timeout: time.Second})
		id := uint64(1)
		o := ops.Write(id, NewWrite(entry, level, gs, gs.All(), 1), 0)
		replies, finishes := 0, 0
		check := func(d Do, what string) {
			if (d.Msg != nil) != (d.Reply != Wait) {
				t.Fatalf("%s: reply %v with message %v", what, d.Reply, d.Msg)
			}
			if finishes > 0 && (d.Msg != nil || d.Finish || len(d.Hint) > 0) {
				t.Fatalf("%s after the op finished: %+v", what, d)
			}
			if done, ok := d.Msg.(*net.Done); ok && done.Version != o.W.Entry.Stamp {
				t.Fatalf("%s: Done at %v, the write holds %v", what, done.Version, o.W.Entry.Stamp)
			}
			if d.Msg != nil {
				replies++
			}
			if d.Finish {
				finishes++
				ops.Finish(o)
			}
		}
		// Any replica may answer anything, any number of times: a
		// duplicate frame's answer may differ in kind from the first (a
		// refusal, then a fence once the replica learned a newer ring),
		// and a replica a resend dropped may still answer.
		for i := range rapid.IntRange(1, 30).Draw(t, "events") {
			r := uint16(rapid.IntRange(1, 7).Draw(t, fmt.Sprintf("r%d", i)))
			ev := rapid.SampledFrom([]string{"ack", "refuse", "restamp", "fenced", "resend", "timeout"}).Draw(t, fmt.Sprintf("e%d", i))
			switch ev {
			case "ack":
				check(o.WriteAnswered(r, nil), ev)
			case "refuse":
				check(o.WriteAnswered(r, fmt.Errorf("no")), ev)
			case "restamp":
				if o.Restamp() {
					id++
					ops.Renumber(o, id)
					o.W.Restamp(clock.Timestamp{Counter: 100 + id, Node: 1})
				} else {
					check(o.WriteAnswered(r, fmt.Errorf("stale stamp")), ev)
				}
			case "fenced":
				o.W.Fenced(r)
			case "resend":
				if !o.W.Over() {
					ng := drawJoint(t)
					o.W.Resend(ng, ng.All(), 2)
					for _, r := range ng.All() {
						o.W.Reask(r)
					}
					check(o.Resent(), ev)
				}
			case "timeout":
				check(o.WriteTimedOut(), ev)
			}
			if err := o.W.check(); err != nil {
				t.Fatalf("after %s from %d: %v", ev, r, err)
			}
		}
		check(o.WriteTimedOut(), "the deadline")
		if replies != 1 || finishes != 1 {
			t.Fatalf("the client heard %d times and the op finished %d times, want once each", replies, finishes)
		}
		if ops.Len() != 0 || ops.Get(id) != nil {
			t.Fatalf("a finished op is still in the table (%d ops)", ops.Len())
		}
	})
}

// Whatever the answers (undecided intents among them), repairs, intents
// decided or not looked up, and deadlines, a read op tells its client once
// and finishes once, and a Do carries a message exactly when its Step
// says the client hears: an op never finishes before its client heard.
func TestOpReadProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gs := drawJoint(t)
		level := rapid.SampledFrom([]net.Consistency{net.One, net.Quorum, net.All, net.Default}).Draw(t, "level")
		ops := NewOps(Config{ID: 1, Timeout: time.Second})
		o := ops.Read(1, NewRead([]byte("k"), level, gs, rapid.Bool().Draw(t, "contains")), 0)
		o.Counter = rapid.IntRange(0, 4).Draw(t, "counter") == 4
		for _, r := range gs.All() {
			o.R.Ask(r)
		}
		replies, finishes := 0, 0
		check := func(d Do, what string) {
			if (d.Msg != nil) != (d.Reply != Wait) {
				t.Fatalf("%s: reply %v with message %v", what, d.Reply, d.Msg)
			}
			if finishes > 0 && (d.Msg != nil || d.Finish || len(d.Repair) > 0 || len(d.Resolve) > 0) {
				t.Fatalf("%s after the op finished: %+v", what, d)
			}
			if d.Msg != nil {
				replies++
			}
			if d.Finish {
				finishes++
				ops.Finish(o)
			}
		}
		for i := range rapid.IntRange(1, 30).Draw(t, "events") {
			r := rapid.SampledFrom(o.R.Asked).Draw(t, fmt.Sprintf("r%d", i))
			c := clock.Timestamp{Counter: uint64(rapid.IntRange(1, 9).Draw(t, fmt.Sprintf("c%d", i))), Node: 2}
			ev := rapid.SampledFrom([]string{"value", "intent", "repaired", "unrepaired", "decided", "undecided", "unresolved", "timeout"}).Draw(t, fmt.Sprintf("e%d", i))
			switch ev {
			case "value":
				check(o.ReadAnswered(r, store.RegisterAt([]byte("v"), false, c)), ev)
			case "intent":
				check(o.ReadAnswered(r, store.IntentAt(store.Intent{Token: []byte("t"), Stamp: c, Value: []byte("x")})), ev)
			case "repaired":
				check(o.Repaired(r, nil), ev)
			case "unrepaired":
				check(o.Repaired(r, fmt.Errorf("no")), ev)
			case "decided":
				check(o.Decided(store.RegisterAt([]byte("x"), false, c), true), ev)
			case "undecided":
				check(o.Decided(store.Version{}, false), ev)
			case "unresolved":
				check(o.Unresolved(fmt.Errorf("unavailable")), ev)
			case "timeout":
				check(o.ReadTimedOut(), ev)
			}
		}
		check(o.ReadTimedOut(), "the deadline")
		if replies != 1 || finishes != 1 {
			t.Fatalf("the client heard %d times and the op finished %d times, want once each", replies, finishes)
		}
		if ops.Len() != 0 {
			t.Fatalf("a finished op is still in the table (%d ops)", ops.Len())
		}
	})
}
