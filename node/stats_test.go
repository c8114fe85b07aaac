package node

import (
	"strings"
	"testing"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/paxos"
)

func TestPaxosOutcome(t *testing.T) {
	for _, tc := range []struct {
		kind  paxos.Kind
		reply net.Message
		code  net.Code
		want  PaxosOutcome
	}{
		{paxos.CAS, &net.Bool{Value: true}, 0, PaxosCommitted},
		{paxos.CAS, &net.Bool{Value: false}, 0, PaxosMismatch},
		{paxos.Put, &net.Done{}, 0, PaxosCommitted},
		{paxos.Read, &net.Value{Found: true}, 0, PaxosRead},
		{paxos.Read, &net.Bool{Value: false}, 0, PaxosRead}, // a serial contains
		{paxos.CAS, nil, net.CodeContention, PaxosContention},
		{paxos.Put, nil, net.CodeUnknownOutcome, PaxosUnknown},
		{paxos.Read, nil, net.CodeUnavailable, PaxosUnavailable},
		{paxos.CAS, nil, net.CodeInternal, PaxosFailed},
	} {
		if got := paxosOutcome(tc.kind, tc.reply, tc.code); got != tc.want {
			t.Errorf("paxosOutcome(%v, %#v, %v) = %v, want %v", tc.kind, tc.reply, tc.code, got, tc.want)
		}
	}
	for _, o := range PaxosOutcomes() {
		if s := o.String(); strings.HasPrefix(s, "outcome(") {
			t.Errorf("outcome %d has no name: %q", o, s)
		}
	}
}

func TestSizes(t *testing.T) {
	var s Sizes
	for _, v := range []uint64{0, 1, 2, 4, 5, 16 << 20, 16<<20 + 1} {
		s.Add(v)
	}
	want := Sizes{Sum: 0 + 1 + 2 + 4 + 5 + 16<<20 + 16<<20 + 1}
	want.Counts[0] = 2                 // 0, 1
	want.Counts[1] = 2                 // 2, 4
	want.Counts[2] = 1                 // 5
	want.Counts[len(sizeBounds)-1] = 1 // 16 Mi
	want.Counts[len(sizeBounds)] = 1   // beyond
	if s != want {
		t.Errorf("sizes:\n got %+v\nwant %+v", s, want)
	}
}
