package gossip

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func rec(inc uint64, st State, ring uint32) Member {
	return Member{ID: 7, Addr: "n7:7000", Incarnation: inc, State: st, Ring: ring, Vnodes: 8}
}

func TestMergeRule(t *testing.T) {
	tests := []struct {
		name string
		a, b Member
		want int // Compare(a, b)
	}{
		{"same record", rec(3, Alive, 1), rec(3, Alive, 1), 0},
		{"higher incarnation wins over a worse state", rec(4, Alive, 1), rec(3, Dead, 1), 1},
		{"lower incarnation loses even when alive", rec(2, Alive, 1), rec(3, Suspect, 1), -1},
		{"suspect beats alive at equal incarnation", rec(3, Suspect, 1), rec(3, Alive, 1), 1},
		{"dead beats suspect at equal incarnation", rec(3, Dead, 1), rec(3, Suspect, 1), 1},
		{"dead beats alive at equal incarnation", rec(3, Dead, 1), rec(3, Alive, 1), 1},
		{"left beats everything at its ring version", rec(3, Left, 2), rec(9, Alive, 1), 1},
		{"higher ring wins over higher incarnation", rec(1, Left, 2), rec(5, Alive, 1), 1},
		{"a rejoin beats the leave", rec(4, Alive, 3), rec(4, Left, 2), 1},
		{"a rejoin beats a later incarnation of the old life", rec(1, Alive, 3), rec(9, Dead, 1), 1},
		{"known ring beats unknown", rec(1, Alive, 1), rec(5, Alive, 0), 1},
		{"address breaks a tie", Member{ID: 7, Addr: "b", Incarnation: 1, Ring: 1}, Member{ID: 7, Addr: "a", Incarnation: 1, Ring: 1}, 1},
		{"vnodes break a tie", Member{ID: 7, Addr: "a", Incarnation: 1, Ring: 1, Vnodes: 2}, Member{ID: 7, Addr: "a", Incarnation: 1, Ring: 1, Vnodes: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compare(tt.a, tt.b); got != tt.want {
				t.Errorf("Compare(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := Compare(tt.b, tt.a); got != -tt.want {
				t.Errorf("Compare(%v, %v) = %d, want %d (antisymmetry)", tt.b, tt.a, got, -tt.want)
			}
			if got := Newer(tt.a, tt.b); got != (tt.want > 0) {
				t.Errorf("Newer(%v, %v) = %v", tt.a, tt.b, got)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		m  Member
		ok bool
	}{
		{rec(0, Alive, 0), true},
		{rec(0, Alive, 1), true},
		{rec(0, Dead, 3), true},
		{rec(0, Left, 2), true},
		{rec(0, Left, 0), false},
		{rec(0, Left, 1), false},
		{rec(0, Alive, 2), false},
		{rec(0, Suspect, 4), false},
		{rec(0, State(4), 1), false},
		{Member{ID: 0, Addr: "a"}, false},
		{Member{ID: 1}, false},
		{Member{ID: 1, Addr: string(make([]byte, MaxAddr+1))}, false},
		{Member{ID: 1, Addr: string(make([]byte, MaxAddr))}, true},
	}
	for _, tt := range tests {
		err := tt.m.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%v) = %v, want ok %v", tt.m, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("Validate(%v) = %v, want ErrMalformed", tt.m, err)
		}
	}
}

func TestStateString(t *testing.T) {
	for st, want := range map[State]string{Alive: "alive", Suspect: "suspect", Dead: "dead", Left: "left", 9: "State(9)"} {
		if got := st.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", uint8(st), got, want)
		}
	}
}

// started returns a started Gossip for node 1 with no seeds.
func started(t *testing.T) *Gossip {
	t.Helper()
	g, err := New(Member{ID: 1, Addr: "n1:7000", Vnodes: 8, Ring: 1}, DefaultConfig(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	g.Start(0, nil)
	g.Changes()
	return g
}

// TestSelfRecords feeds a node records about itself and checks what it
// makes of them: refute a suspicion or death at its incarnation or above,
// ignore older news, accept a removal (Left is final).
func TestSelfRecords(t *testing.T) {
	self := func(inc uint64, st State, ring uint32) Member {
		return Member{ID: 1, Addr: "n1:7000", Incarnation: inc, State: st, Ring: ring, Vnodes: 8}
	}
	tests := []struct {
		name string
		in   Member
		want Member
	}{
		{"suspected at its incarnation: refute", self(1, Suspect, 1), self(2, Alive, 1)},
		{"dead at its incarnation: refute", self(1, Dead, 1), self(2, Alive, 1)},
		{"dead at a later incarnation (a forgotten life): refute past it", self(6, Dead, 1), self(7, Alive, 1)},
		{"alive at a later incarnation: take a higher one", self(6, Alive, 1), self(7, Alive, 1)},
		{"suspected at an older incarnation: ignore", self(0, Suspect, 1), self(1, Alive, 1)},
		{"removed: take it", self(1, Left, 2), self(1, Left, 2)},
		{"removed at an older incarnation: still removed", self(0, Left, 2), self(1, Left, 2)},
		{"on a later ring in a forgotten life, dead: refute", self(3, Dead, 3), self(4, Alive, 3)},
		{"its address under another's pen: reclaim", Member{ID: 1, Addr: "zz", Incarnation: 1, Ring: 1}, self(2, Alive, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := started(t)
			msg := message{kind: kindPushPullResp, from: Member{ID: 2, Addr: "n2:7000", Ring: 1}, members: []Member{tt.in}}
			if _, err := g.Receive(time.Second, 2, msg.encode(nil)); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, g.Self()); d != "" {
				t.Errorf("self after hearing %v (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestLeftSelfIgnoresSuspicion(t *testing.T) {
	g := started(t)
	g.Leave()
	left := g.Self()
	msg := message{kind: kindPushPullResp, from: Member{ID: 2, Addr: "n2:7000", Ring: 1}, members: []Member{{ID: 1, Addr: "n1:7000", Incarnation: 1, State: Dead, Ring: 1}}}
	if _, err := g.Receive(time.Second, 2, msg.encode(nil)); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(left, g.Self()); d != "" {
		t.Errorf("a node that left refuted (-want +got):\n%s", d)
	}
	if outs := g.Tick(time.Hour); outs != nil {
		t.Errorf("a node that left still probes: %d messages", len(outs))
	}
}

// TestOthersRecords checks the merge into what a node holds of another
// member, and what Changes and Epoch report.
func TestOthersRecords(t *testing.T) {
	other := func(inc uint64, st State, ring uint32) Member {
		return Member{ID: 2, Addr: "n2:7000", Incarnation: inc, State: st, Ring: ring, Vnodes: 8}
	}
	g := started(t)
	steps := []struct {
		in      Member
		want    Member
		changed bool
		epoch   uint64
	}{
		{other(1, Alive, 1), other(1, Alive, 1), true, 2},
		{other(1, Alive, 1), other(1, Alive, 1), false, 2},
		{other(1, Suspect, 1), other(1, Suspect, 1), true, 2},
		{other(1, Alive, 1), other(1, Suspect, 1), false, 2},
		{other(2, Alive, 1), other(2, Alive, 1), true, 2},
		{other(2, Dead, 1), other(2, Dead, 1), true, 2},
		{other(1, Alive, 1), other(2, Dead, 1), false, 2},
		{other(3, Alive, 1), other(3, Alive, 1), true, 2},
		{other(3, Left, 2), other(3, Left, 2), true, 3},
		{other(9, Alive, 1), other(3, Left, 2), false, 3},
		{other(4, Alive, 3), other(4, Alive, 3), true, 4},
	}
	for i, st := range steps {
		msg := message{kind: kindPushPullResp, from: Member{ID: 3, Addr: "n3:7000", Ring: 0}, members: []Member{st.in}}
		if _, err := g.Receive(time.Second, 3, msg.encode(nil)); err != nil {
			t.Fatal(err)
		}
		got, _ := g.Member(2)
		if d := cmp.Diff(st.want, got); d != "" {
			t.Errorf("step %d, after %v (-want +got):\n%s", i, st.in, d)
		}
		var changed bool
		for _, m := range g.Changes() {
			changed = changed || m.ID == 2
		}
		if changed != st.changed {
			t.Errorf("step %d, after %v: reported as changed %v, want %v", i, st.in, changed, st.changed)
		}
		if got := g.Epoch(); got != st.epoch {
			t.Errorf("step %d: epoch %d, want %d", i, got, st.epoch)
		}
	}
}

func TestNewAndConfig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	if _, err := New(Member{ID: 1, Addr: "a"}, DefaultConfig(), nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil rng: %v, want ErrConfig", err)
	}
	if _, err := New(Member{ID: 0, Addr: "a"}, DefaultConfig(), rng); !errors.Is(err, ErrConfig) {
		t.Errorf("id 0: %v, want ErrConfig", err)
	}
	if _, err := New(Member{ID: 1}, DefaultConfig(), rng); !errors.Is(err, ErrConfig) {
		t.Errorf("no address: %v, want ErrConfig", err)
	}
	bad := DefaultConfig()
	bad.ProbeTimeout = bad.ProbeInterval
	if _, err := New(Member{ID: 1, Addr: "a"}, bad, rng); !errors.Is(err, ErrConfig) {
		t.Errorf("timeout = interval: %v, want ErrConfig", err)
	}
	neg := Config{IndirectProbes: -1}
	if err := neg.Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("negative IndirectProbes: %v, want ErrConfig", err)
	}
	var c Config
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(DefaultConfig(), c); d != "" {
		t.Errorf("zero config not filled with defaults (-want +got):\n%s", d)
	}
	for n, want := range map[int]time.Duration{0: 2 * time.Second, 1: 2 * time.Second, 3: 4 * time.Second, 4: 6 * time.Second, 100: 14 * time.Second} {
		if got := c.SuspicionTimeout(n); got != want {
			t.Errorf("SuspicionTimeout(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestRestartRaisesIncarnation: a node that restores its own record starts
// past it, and rejoins the ring if it had left.
func TestRestartRaisesIncarnation(t *testing.T) {
	g, err := New(Member{ID: 1, Addr: "n1:new", Vnodes: 8, Ring: 1}, DefaultConfig(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	g.Restore([]Member{
		{ID: 1, Addr: "n1:old", Incarnation: 5, State: Left, Ring: 2},
		{ID: 2, Addr: "n2", Incarnation: 3, State: Suspect, Ring: 1},
		{ID: 2, Addr: "n2", Incarnation: 2, State: Alive, Ring: 1},
		{ID: 0, Addr: "bad"},
	})
	if ch := g.Changes(); len(ch) != 0 {
		t.Errorf("Restore reported changes: %v", ch)
	}
	outs := g.Start(0, nil)
	want := Member{ID: 1, Addr: "n1:new", Incarnation: 6, State: Alive, Ring: 3, Vnodes: 8}
	if d := cmp.Diff(want, g.Self()); d != "" {
		t.Errorf("self after Start (-want +got):\n%s", d)
	}
	if len(outs) != 1 || outs[0].To.ID != 2 {
		t.Errorf("Start without seeds sent %v, want one push-pull to the restored member 2", outs)
	}
	if d := cmp.Diff([]Member{want}, g.Changes()); d != "" {
		t.Errorf("Changes after Start (-want +got):\n%s", d)
	}
	if m, _ := g.Member(2); m.Incarnation != 3 || m.State != Suspect {
		t.Errorf("restored member 2 is %v, want the newer record (suspect at 3)", m)
	}
	// The restored suspicion runs out like any other.
	g.Tick(time.Minute)
	if m, _ := g.Member(2); m.State != Dead {
		t.Errorf("restored suspect 2 after its timeout: %v, want dead", m)
	}
}

// Start puts a node that left back on the ring (a rejoin), but leaves one
// that never joined at ring version 0: its node joins when it may
// (node/move.go), by SetRing.
func TestStartKeepsANewMemberOffTheRing(t *testing.T) {
	for _, tc := range []struct{ ring, want uint32 }{{0, 0}, {1, 1}, {3, 3}, {6, 7}} {
		g, err := New(Member{ID: 1, Addr: "n1:7000", Vnodes: 8, Ring: tc.ring}, DefaultConfig(), rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		g.Start(0, []string{"seed:7000"})
		if got := g.Self(); got.Ring != tc.want || got.State != Alive {
			t.Errorf("ring version %d after Start: %v, want version %d and alive", tc.ring, got, tc.want)
		}
	}
}

// A record of this node that others have on the ring with other tokens
// than its own (it lost its log and was started with others) is kept for
// Placement; one that agrees, or is off the ring, is not.
func TestPlacement(t *testing.T) {
	g := started(t) // node 1, 8 virtual tokens
	g.apply(0, Member{ID: 1, Addr: "n1:7000", Vnodes: 8, Ring: 3, Incarnation: 5})
	if _, ok := g.Placement(); ok {
		t.Fatal("a record with the node's own tokens was taken for another placement")
	}
	g.apply(0, Member{ID: 1, Addr: "n1:7000", Ring: 5, Incarnation: 9, Tokens: []uint64{100}})
	m, ok := g.Placement()
	if !ok || !slices.Equal(m.Tokens, []uint64{100}) {
		t.Fatalf("Placement() = %v (tokens %v), %v; want the record with token 100", m, m.Tokens, ok)
	}
	if s := g.Self(); s.Vnodes != 8 || len(s.Tokens) != 0 {
		t.Errorf("the node took another's view of its tokens: %v", s)
	}
}
