package client

import (
	"context"
	"fmt"

	"github.com/memdb/memdb/net"
)

// CAS sets key to new if key's current value is old, and reports whether
// it did: (true, nil) if it swapped, (false, nil) if the current value was
// something else, in which case nothing was written.
//
// old == nil means "only if key is absent" (never written, or deleted); an
// empty, non-nil old is the empty value, which is not the same thing. A
// nil or empty new writes the empty value.
//
// A CAS is linearizable: the key's replicas agree on it through a Paxos
// round, whatever consistency level the call or the client asks for (CAS
// takes no level). It is linearizable with the serial reads and writes of
// the same key (Get, Contains and Set with WithConsistency(net.Serial)),
// not with plain Sets and Deletes of it.
//
// Errors, besides those of every call:
//   - ErrContention: the round lost to other proposers of the same key
//     until the node gave up. The CAS certainly did not take effect, so it
//     is safe to call again.
//   - ErrUnknownOutcome: the request was sent and no answer says whether
//     it swapped (a lost connection, a timeout, or the node itself could
//     not tell). Like every write, a CAS is never sent twice by the client;
//     read the key to find out.
//
// Keys and values are checked before anything is sent: a bad key is
// net.ErrBadKey, an old or new value over net.MaxValue net.ErrTooLarge.
func (c *Client) CAS(ctx context.Context, key string, old, new []byte, opts ...CallOption) (bool, error) {
	co := c.callOptions(opts)
	if err := net.ValidateValue(old); err != nil {
		return false, fmt.Errorf("cas %s: old value: %w", keyString(key), err)
	}
	if err := net.ValidateValue(new); err != nil {
		return false, fmt.Errorf("cas %s: new value: %w", keyString(key), err)
	}
	if new == nil {
		new = []byte{}
	}
	// The CAS message carries no level, so the call's is left out of it;
	// it is still checked by request, as every call's is.
	m := &net.CAS{Key: []byte(key), OldFound: old != nil, Old: old, New: new}
	f, err := c.request(ctx, "cas", key, m, true, co)
	if err != nil {
		return false, err
	}
	if b, ok := f.Msg.(*net.Bool); ok {
		return b.Value, nil
	}
	return false, unexpectedReply("cas", key, f.Msg, true)
}
