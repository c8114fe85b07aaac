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
