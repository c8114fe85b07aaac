package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/memdb/memdb/client"
	"github.com/memdb/memdb/net"
)

func Example() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{
		Addrs: []string{"127.0.0.1:7400", "127.0.0.1:7410"},
		Key:   "the client key",
	})
	if err != nil {
		log.Fatal(err) // ErrAuth: wrong key; ErrUnreachable: no node answered
	}
	defer c.Close()

	switch err := c.Set(ctx, "greeting", []byte("hello")); {
	case errors.Is(err, client.ErrUnknownOutcome):
		// The write may have happened: read the key, or repeat it if
		// repeating is harmless. The client never repeats it on its own.
	case err != nil:
		log.Fatal(err)
	}

	v, err := c.Get(ctx, "greeting", client.WithConsistency(net.One))
	switch {
	case errors.Is(err, client.ErrNotFound):
		fmt.Println("(nil)")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(string(v))
	}
}
