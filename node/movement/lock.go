package movement

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/view"
)

// Key is the system key whose value is the movement lock: changed only by
// Paxos compare-and-set among its replicas (see the package doc).
const Key = "\x00memdb/move"

// Idle is the lock's value when no movement holds it.
const Idle = "idle"

// A Move is one member's join or leave: the value of the movement lock
// while it holds it.
type Move struct {
	Join    bool   // a join; otherwise a leave
	ID      uint16 // the member
	Version uint32 // the ring version it takes: joining or leaving
}

// Join is the movement of member id's join from ring version ring (it has
// no place on the ring yet, or has left).
func Join(id uint16, ring uint32) Move {
	return Move{Join: true, ID: id, Version: view.NextVersion(ring, view.Joining)}
}

// Leave is the movement of member id's leave from ring version ring (it
// is normal).
func Leave(id uint16, ring uint32) Move {
	return Move{ID: id, Version: view.NextVersion(ring, view.Leaving)}
}

// Removal is the movement a removal of member m takes the lock for: a
// normal member's leave, or the movement a joining or leaving member died
// holding.
func Removal(m gossip.Member) Move {
	p := view.PhaseOf(m.Ring)
	if p == view.Normal {
		return Leave(m.ID, m.Ring)
	}
	return Move{Join: p == view.Joining, ID: m.ID, Version: m.Ring}
}

// Over reports whether m has finished, given its member's ring version
// now: the member has moved past the version m names.
func (m Move) Over(ring uint32) bool { return ring > m.Version }

func (m Move) String() string {
	kind := "leave"
	if m.Join {
		kind = "join"
	}
	return fmt.Sprintf("%s %d %d", kind, m.ID, m.Version)
}

// Parse reads the lock's value; ok is false for Idle (or anything else
// that names no movement).
func Parse(b []byte) (m Move, ok bool) {
	f := strings.Fields(string(b))
	if len(f) != 3 || (f[0] != "join" && f[0] != "leave") {
		return Move{}, false
	}
	id, err1 := strconv.ParseUint(f[1], 10, 16)
	v, err2 := strconv.ParseUint(f[2], 10, 32)
	if err1 != nil || err2 != nil {
		return Move{}, false
	}
	return Move{Join: f[0] == "join", ID: uint16(id), Version: uint32(v)}, true
}
