package client

import (
	"context"
	"fmt"

	"github.com/memdb/memdb/net"
)

// Get returns the value of key, or ErrNotFound if it has none (never
// written, or deleted). The returned slice belongs to the caller.
func (c *Client) Get(ctx context.Context, key string, opts ...CallOption) ([]byte, error) {
	co := c.callOptions(opts)
	f, err := c.request(ctx, "get", key, &net.Get{Level: co.level, Key: []byte(key)}, false, co)
	if err != nil {
		return nil, err
	}
	switch m := f.Msg.(type) {
	case *net.Value:
		c.session.observe(m.Version)
		if !m.Found {
			return nil, ErrNotFound
		}
		return m.Value, nil
	}
	return nil, unexpectedReply("get", key, f.Msg, false)
}

// Set writes value under key. An error wrapping ErrUnknownOutcome means
// the write may or may not have happened.
func (c *Client) Set(ctx context.Context, key string, value []byte, opts ...CallOption) error {
	co := c.callOptions(opts)
	if err := net.ValidateValue(value); err != nil {
		return fmt.Errorf("set %s: %w", keyString(key), err)
	}
	if value == nil {
		value = []byte{}
	}
	f, err := c.request(ctx, "set", key, &net.Set{Level: co.level, Key: []byte(key), Value: value}, true, co)
	if err != nil {
		return err
	}
	return c.done("set", key, f)
}

// Delete removes key; deleting an absent key succeeds. An error wrapping
// ErrUnknownOutcome means the delete may or may not have happened.
func (c *Client) Delete(ctx context.Context, key string, opts ...CallOption) error {
	co := c.callOptions(opts)
	f, err := c.request(ctx, "delete", key, &net.Delete{Level: co.level, Key: []byte(key)}, true, co)
	if err != nil {
		return err
	}
	return c.done("delete", key, f)
}

// Contains reports whether key has a value.
func (c *Client) Contains(ctx context.Context, key string, opts ...CallOption) (bool, error) {
	co := c.callOptions(opts)
	f, err := c.request(ctx, "contains", key, &net.Contains{Level: co.level, Key: []byte(key)}, false, co)
	if err != nil {
		return false, err
	}
	if m, ok := f.Msg.(*net.Bool); ok {
		return m.Value, nil
	}
	return false, unexpectedReply("contains", key, f.Msg, false)
}

// request checks key, exchanges msg and turns an Error reply into the
// call's error, all wrapped with op and key.
func (c *Client) request(ctx context.Context, op, key string, msg net.Message, write bool, co call) (net.Frame, error) {
	if err := net.ValidateKey([]byte(key)); err != nil {
		return net.Frame{}, fmt.Errorf("%s %s: %w", op, keyString(key), err)
	}
	if co.level > net.Serial {
		// The node would take the frame for a malformed one and hang up.
		return net.Frame{}, fmt.Errorf("%s %s: %w: consistency %s is not a level (want one, quorum, all or serial)", op, keyString(key), errOptions, co.level)
	}
	f, err := c.exchange(ctx, []byte(key), msg, write, co)
	if err != nil {
		return net.Frame{}, fmt.Errorf("%s %s: %w", op, keyString(key), err)
	}
	if e, ok := f.Msg.(*net.Error); ok {
		return net.Frame{}, fmt.Errorf("%s %s: %w", op, keyString(key), replyError(e))
	}
	return f, nil
}

// done checks the reply to a write.
func (c *Client) done(op, key string, f net.Frame) error {
	if m, ok := f.Msg.(*net.Done); ok {
		c.session.observe(m.Version)
		return nil
	}
	return unexpectedReply(op, key, f.Msg, true)
}

// unexpectedReply reports a reply of the wrong kind; after a write, the
// write's outcome is unknown.
func unexpectedReply(op, key string, got net.Message, write bool) error {
	err := fmt.Errorf("%s %s: the node replied %s: %w", op, keyString(key), got.Kind(), errProtocol)
	if write {
		err = fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	}
	return err
}

// Compact asks one node (the first of Options.Addrs that answers) to
// compact its operation log now, and returns once the compacted log is
// durable. It changes no data; it is an operator's command, as Redis's
// BGREWRITEAOF is.
func (c *Client) Compact(ctx context.Context, opts ...CallOption) error {
	co := c.callOptions(opts)
	f, err := c.exchange(ctx, nil, &net.Compact{}, true, co)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if e, ok := f.Msg.(*net.Error); ok {
		return fmt.Errorf("compact: %w", replyError(e))
	}
	if _, ok := f.Msg.(*net.Done); !ok {
		return fmt.Errorf("compact: the node replied %s: %w", f.Msg.Kind(), errProtocol)
	}
	return nil
}
