package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/memdb/memdb/net"
)

// Write is one key's write in a Batch: Value under Key, or, with Delete,
// the key's removal.
type Write struct {
	Key    string
	Value  []byte
	Delete bool
}

// Batch writes every one of writes atomically: all of them apply, at one
// version, or none does, whichever nodes hold the keys. Reads at quorum or
// all never see part of a batch: once a read returns a batch's value for
// one key, a read that starts later returns that batch's value, or a later
// one, for each of its other keys. A later write to one of the keys wins
// over the batch as any later write does.
//
// A batch holds at most net.MaxBatchKeys writes and net.MaxBatchBytes of
// keys and values, writes each key once, and writes no counter; it is
// refused before anything is sent otherwise. The consistency level does
// not apply: a batch always needs a quorum of every key's replicas.
//
// Each call draws a token for its batch, and every attempt of the call
// carries it: an attempt whose outcome is unknown (no answer, a broken
// connection, the node's own CodeUnknownOutcome) is sent again, to any
// node, until the call's deadline, and a batch that committed is never
// applied twice — a retry answers that it committed.
//
// Errors, besides those of every call:
//   - ErrAborted: the batch was aborted (some key's replicas did not take
//     it in time); none of its writes applied, nor ever will.
//   - ErrUnknownOutcome: no attempt's outcome was known by the deadline;
//     the batch may have committed (whole) or not (not at all).
//   - ErrQuorum: too few replicas of some key were up; nothing was
//     written.
//   - ErrWrongKind: a key holds a counter; nothing was written.
func (c *Client) Batch(ctx context.Context, writes []Write, opts ...CallOption) error {
	co := c.callOptions(opts)
	fail := func(err error) error { return fmt.Errorf("batch of %d: %w", len(writes), err) }
	msg := &net.Batch{Token: make([]byte, 16), Writes: make([]net.BatchWrite, len(writes))}
	for i, w := range writes {
		if err := net.ValidateValue(w.Value); err != nil {
			return fail(fmt.Errorf("key %s: %w", keyString(w.Key), err))
		}
		msg.Writes[i] = net.BatchWrite{Key: []byte(w.Key), Value: w.Value, Deleted: w.Delete}
		if w.Delete {
			msg.Writes[i].Value = nil
		} else if w.Value == nil {
			msg.Writes[i].Value = []byte{}
		}
	}
	if err := net.CheckBatch(msg.Writes); err != nil {
		return fail(err)
	}
	rand.Read(msg.Token)
	ctx, cancel := withTimeout(ctx, co.timeout)
	defer cancel()
	var unknown error // why an earlier attempt's outcome is unknown
	for attempt := uint32(1); ; attempt++ {
		f, err := c.exchange(ctx, msg.Writes[0].Key, msg, true, call{level: co.level, timeout: -1})
		if err == nil {
			if e, ok := f.Msg.(*net.Error); ok {
				err = replyError(e)
			}
		}
		switch m := f.Msg.(type) {
		case *net.Done:
			if err == nil {
				c.session.observe(m.Version)
				return nil
			}
		case *net.Error:
			if m.Code == net.CodeAborted {
				return fail(&codeError{ErrAborted, m})
			}
		}
		if err == nil {
			return fail(fmt.Errorf("%w: the node replied %s: %w", ErrUnknownOutcome, f.Msg.Kind(), errProtocol))
		}
		if !errors.Is(err, ErrUnknownOutcome) {
			if unknown != nil {
				// An earlier attempt may have committed it.
				return fail(fmt.Errorf("%w: %w (and then: %v)", ErrUnknownOutcome, unknown, err))
			}
			return fail(err)
		}
		unknown = err
		d := backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return fail(err)
		}
		select {
		case <-ctx.Done():
			return fail(err)
		case <-time.After(d):
		}
	}
}
