package movement

import (
	"testing"

	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/view"
)

func TestParse(t *testing.T) {
	for _, m := range []Move{{Join: true, ID: 1, Version: 1}, {ID: 65535, Version: 1<<32 - 1}, {Join: true, ID: 7, Version: 13}} {
		got, ok := Parse([]byte(m.String()))
		if !ok || got != m {
			t.Errorf("Parse(%q) = %v, %v; want %v, true", m.String(), got, ok, m)
		}
	}
	for _, s := range []string{"", Idle, "join", "join 1", "join x 1", "move 1 1", "join 70000 1", "leave 1 -1", "join 1 1 1"} {
		if m, ok := Parse([]byte(s)); ok {
			t.Errorf("Parse(%q) = %v, true; want no movement", s, m)
		}
	}
}

// The movement each kind of task takes the lock for, and when it is over.
func TestMoves(t *testing.T) {
	normal, joining, leaving := view.NextVersion(0, view.Normal), view.NextVersion(0, view.Joining), view.NextVersion(view.NextVersion(0, view.Normal), view.Leaving)
	for _, c := range []struct {
		name string
		got  Move
		want string
	}{
		{"a new node's join", Join(4, 0), "join 4 1"},
		{"a join after a leave", Join(4, 6), "join 4 7"},
		{"a normal member's leave", Leave(4, normal), "leave 4 5"},
		{"the removal of a normal member: its leave", Removal(gossip.Member{ID: 4, Ring: normal}), "leave 4 5"},
		{"the removal of a joining member: its join", Removal(gossip.Member{ID: 4, Ring: joining}), "join 4 1"},
		{"the removal of a leaving member: its leave", Removal(gossip.Member{ID: 4, Ring: leaving}), "leave 4 5"},
	} {
		if c.got.String() != c.want {
			t.Errorf("%s: %v, want %s", c.name, c.got, c.want)
		}
	}
	m := Join(4, 0)
	if m.Over(m.Version) || !m.Over(view.NextVersion(m.Version, view.Normal)) {
		t.Errorf("%v: over at its own version %v, after it %v; want false, true", m, m.Over(m.Version), m.Over(m.Version+2))
	}
}
