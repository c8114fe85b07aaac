package ring

import "slices"

// Replicas is key's preference list: the first rf distinct nodes met walking
// clockwise from Hash(key), in that order. It has fewer than rf nodes only
// when the ring has fewer than rf members, and none when rf < 1 or the ring
// is empty.
func (r Ring) Replicas(key []byte, rf int) []uint16 {
	return r.AppendReplicasOf(nil, Hash(key), rf)
}

// ReplicasOf is the preference list of the ring position h; see Replicas.
func (r Ring) ReplicasOf(h uint64, rf int) []uint16 {
	return r.AppendReplicasOf(nil, h, rf)
}

// AppendReplicasOf appends the preference list of position h to dst and
// returns the extended slice: ReplicasOf without an allocation when dst has
// room.
//
// Position h belongs to the first token at or after it, wrapping past the
// top of the ring to the lowest token; the list is that token's owner, then
// the owners of the following tokens, skipping nodes already listed.
func (r Ring) AppendReplicasOf(dst []uint16, h uint64, rf int) []uint16 {
	n := len(r.tokens)
	if rf < 1 || n == 0 {
		return dst
	}
	rf = min(rf, len(r.members))
	base := len(dst)
	i, _ := slices.BinarySearch(r.tokens, h)
	for step := 0; step < n && len(dst)-base < rf; step++ {
		j := i + step
		if j >= n {
			j -= n
		}
		if id := r.owners[j]; !slices.Contains(dst[base:], id) {
			dst = append(dst, id)
		}
	}
	return dst
}

// Owner is the first node of key's preference list: the node owning the
// range key falls in. ok is false only on the empty ring.
func (r Ring) Owner(key []byte) (id uint16, ok bool) {
	var buf [1]uint16
	list := r.AppendReplicasOf(buf[:0], Hash(key), 1)
	if len(list) == 0 {
		return 0, false
	}
	return list[0], true
}
