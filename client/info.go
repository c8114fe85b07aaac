package client

import (
	"context"
	"fmt"

	"github.com/memdb/memdb/net"
)

// Info asks one node (the first of Options.Addrs that answers) about its
// host: its id, the memdb version it runs and the base URL of its admin
// API (empty if it has none). memdb's cluster commands use it to find the
// admin API of the node they talk to.
func (c *Client) Info(ctx context.Context, opts ...CallOption) (net.InfoReply, error) {
	co := c.callOptions(opts)
	f, err := c.exchange(ctx, nil, &net.Info{}, false, co)
	if err != nil {
		return net.InfoReply{}, fmt.Errorf("info: %w", err)
	}
	switch m := f.Msg.(type) {
	case *net.InfoReply:
		return *m, nil
	case *net.Error:
		return net.InfoReply{}, fmt.Errorf("info: %w", replyError(m))
	}
	return net.InfoReply{}, fmt.Errorf("info: the node replied %s: %w", f.Msg.Kind(), errProtocol)
}
