package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"

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

// A counter kept as a decimal string, incremented with CAS: read the value,
// swap in the next one, and start again if another writer got there first.
func ExampleClient_CAS() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addrs: []string{"127.0.0.1:7400"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	for attempt := 0; attempt < 10; attempt++ {
		// A serial read sees every CAS that finished before it.
		old, err := c.Get(ctx, "visits", client.WithConsistency(net.Serial))
		n := 0
		switch {
		case errors.Is(err, client.ErrNotFound):
			// old is nil: the CAS below swaps only if the key is still absent.
		case errors.Is(err, client.ErrContention):
			continue
		case err != nil:
			log.Fatal(err)
		default:
			if n, err = strconv.Atoi(string(old)); err != nil {
				log.Fatal(err)
			}
		}
		swapped, err := c.CAS(ctx, "visits", old, []byte(strconv.Itoa(n+1)))
		switch {
		case errors.Is(err, client.ErrContention):
			// Nothing was written: try again.
		case errors.Is(err, client.ErrUnknownOutcome):
			// It may have swapped; the client did not send it twice, and
			// trying again could count this visit twice.
			log.Fatal(err)
		case err != nil:
			log.Fatal(err)
		case swapped:
			fmt.Println("visits:", n+1)
			return
		}
		// Another writer changed the value first: read it again.
	}
	log.Fatal("too much contention on visits")
}

// A counter: each Incr is applied exactly once, even when the client has
// to send it again; one that still has no answer at its deadline is
// ErrUnknownOutcome (applied once or not at all, never twice).
func ExampleClient_Incr() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Addrs: []string{"127.0.0.1:7400"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	n, err := c.Incr(ctx, "page-views", 1, client.WithConsistency(net.Quorum))
	switch {
	case errors.Is(err, client.ErrUnknownOutcome):
		// Retried at its node until the deadline: read the counter later.
	case errors.Is(err, client.ErrWrongKind):
		log.Fatal("page-views holds a plain value, not a counter")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("views:", n)
	}
	total, err := c.Counter(ctx, "page-views")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("total:", total)
}
