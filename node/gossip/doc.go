// Package gossip is memdb's membership protocol, after SWIM (Das, Gupta
// and Motivala, 2002): who the members are, where they listen, whether
// they are up, and each one's ring version.
//
// It is a pure, deterministic state machine, in the manner of etcd raft's
// RawNode: no I/O, no goroutines, no timers and no clock of its own. The
// node passes time in (Tick, Receive), sends the Outs that every call
// returns through its Transport as net.Gossip frames, persists the records
// Changes returns, and gives them back through Restore after a restart.
// Randomness comes from the node's rng alone, and members are always walked
// in id order, never map order, so the same inputs give byte-identical
// outputs.
//
// # Failure detection
//
// Every ProbeInterval a node probes one member: it sends a ping, which the
// member answers with an ack. Members are probed in a shuffled round-robin
// (each round visits every live member once, in an order drawn from the
// rng), which bounds the time until any given member is probed. With no ack
// after ProbeTimeout the node asks IndirectProbes other members to ping-req
// the target: each pings it under its own sequence number and relays the
// ack. So a member that one node cannot reach, but others can (a one-way
// cut, a flaky link), is not suspected. With no ack, direct or relayed, by
// the end of the ProbeInterval, the target becomes Suspect.
//
// A Suspect member that does not refute within the suspicion timeout,
// SuspicionMult * ceil(log2(n+1)) * ProbeInterval for n members not Left,
// is declared Dead, by every node that holds it Suspect on its own timer. A
// member refutes by raising its own incarnation: only a member ever raises
// its incarnation, and its Alive record at the new incarnation beats every
// suspicion of an older one. A Dead member keeps its place on the ring (a
// dead node is expected to come back) and is no longer probed.
//
// # Dissemination
//
// Every message carries the sender's own record, and pings, acks and
// ping-reqs piggyback up to PiggybackMax recent updates: each record that
// changed is sent RetransmitMult * ceil(log2(n+1)) times, least-sent first,
// which spreads it epidemically in O(log n) probe rounds. A message to a
// member that the sender holds Suspect or Dead also carries that record, so
// a member hears of its suspicion from whoever still talks to it.
//
// Every PushPullInterval a node exchanges its full state (push-pull) with
// one random live member, and with one random Dead member if any: the
// first repairs whatever piggybacking missed, the second is how two sides
// of a healed partition, each holding the other Dead and so never probing
// it, find each other again.
//
// # Joining, restarting, leaving
//
// Start raises the node's incarnation past everything Restore gave it (so
// its Alive record beats whatever the cluster remembers of it, a Dead one
// included), takes an odd ring version if it had none, and push-pulls each
// seed address. It goes on push-pulling its seeds every SeedRetry until one
// answers, and again whenever it knows no live member. A node that restarts
// with its log learns, from its first push-pull, of members that joined
// while it was down.
//
// Leave makes the node Left at the next even ring version and tells every
// live member directly; they spread it on. Remove does the same for
// another member, on an operator's word. Left is final for its ring
// version: a member returns only by joining again, at a higher, odd one.
//
// # The merge rule
//
// A record is a whole (Member): merging picks one record over another,
// never a field-by-field mix. Compare orders two records of one member by,
// in turn,
//
//  1. Ring, higher first: a ring-changing event (join, leave, removal)
//     beats anything said about an older ring version;
//  2. Incarnation, higher first: the member's own latest word;
//  3. State, Left > Dead > Suspect > Alive: at one incarnation, bad news
//     wins until the member refutes it;
//  4. Addr, then Vnodes: a tie-break that only a member that lost its own
//     state can need, which makes the order total.
//
// Merging keeps the greater record. A total order makes merging a maximum
// (commutative, associative, idempotent), so nodes that have seen the same
// records, in any order, any number of times, hold the same ones. A record
// of itself that beats a node's own makes it refute (a higher incarnation,
// still Alive) unless the record is at a higher even ring version: then it
// was removed, and takes the record. A node that has left never refutes.
//
// Validate holds records to one more rule: State is Left exactly when Ring
// is even and at least 2. Ring 0 means not yet joined.
//
// # The epoch
//
// Epoch is the sum over every known member of its Ring. Rings only grow
// under the merge rule and members are never forgotten (Dead and Left ones
// included), so the epoch only grows; it changes exactly when a member's
// ring version does or a member is first learned of; and two nodes that
// hold the same records have the same epoch. A node that sees a peer at
// another epoch knows that one of them is missing a ring change.
//
// # Payload format
//
// Version 2 (version 1 had no token list). The payload travels in a net.Gossip frame, which checksums it,
// so there is no checksum here. Integers are unsigned and big-endian.
//
//	offset  size  field
//	------  ----  --------------------------------------------------------
//	     0     1  version: 2
//	     1     1  kind (below)
//	     2     8  seq: the probe's sequence number (ping, ack, ping-req);
//	              for a push-pull, a seed round's number or 0, which the
//	              reply echoes
//	    10     2  target: the member probed (ping, ack, ping-req; never 0);
//	              0 for a push-pull and its reply
//	    12     r  sender: the sender's own record (below)
//	  12+r     2  count n
//	  14+r        n records: updates piggybacked (ping, ack, ping-req), or
//	              the sender's full state (push-pull and reply); the
//	              payload ends exactly after the last
//
//	kind  message          the receiver
//	----  ---------------  ----------------------------------------------
//	   1  ping             answers with an ack (same seq and target) if
//	                       it is target; a node now at another id ignores it
//	   2  ack              ends its probe of target under seq, or relays
//	                       the ack to the node it probed target for
//	   3  ping-req         pings target under a seq of its own and relays
//	                       the ack to the sender under the sender's seq
//	   4  push-pull        merges the state and answers with its own
//	   5  push-pull reply  merges the state
//
//	member record
//	offset  size  field
//	------  ----  --------------------------------------------------------
//	     0     2  id, 1..65535
//	     2     8  incarnation
//	    10     1  state: 0 alive, 1 suspect, 2 dead, 3 left
//	    11     4  ring version
//	    15     2  vnodes (0 if the member has explicit tokens)
//	    17     1  address length a, 1..MaxAddr (255)
//	    18     a  address
//	  18+a     2  token count t, 0..MaxTokens (4096)
//	  20+a    8t  explicit tokens, strictly ascending
//	20+a+8t       end
//
// A payload that is short, has bytes left over, has an unknown kind, a
// target of 0 where one is needed, a count larger than the bytes left could
// hold, or any record that fails Validate is malformed (ErrMalformed); one
// of another version is ErrVersion. Decoding never panics, on any bytes
// (FuzzDecode). A change to any layout is a new version.
//
// A push-pull carries every member: 14 + n*(20+a+8t) bytes after the sender's
// record, about 4 KB for 100 members with 20-byte addresses and virtual
// tokens. It must fit a net.Gossip frame (net.MaxValue, 8 MiB): with virtual
// tokens that is more records than the 65535 ids there are; with explicit
// ones, a cluster whose members list some 250 each at MaxTokens would not
// fit. Version 1 payloads (no token list) are refused: the nodes of a
// cluster run one version.
//
// # Measurements
//
// TestConvergenceTime, on the simulated network (1-10ms latency, no loss,
// default Config), mean (max) of 3 runs in virtual time: "join" runs from
// a new node's Start until every node holds every member Alive; "suspect"
// and "dead" from a crash until the first node suspects it and until every
// node holds it Dead.
//
//	nodes | join          | first suspect | dead everywhere | msgs/node/s
//	    3 | 400ms (500ms) | 900ms (1.16s) | 6.98s (7.25s)   | 4.6
//	   10 | 880ms (950ms) | 770ms (1s)    | 9.37s (9.6s)    | 4.6
//	   30 | 1.42s (1.65s) | 910ms (1s)    | 12.17s (12.4s)  | 4.3
//	  100 | 2.25s (2.7s)  | 770ms (850ms) | 16.05s (16.2s)  | 4.2
//
// Detection is dominated by the suspicion timeout (6s at 4 members, 14s at
// 101), which grows with log n so that a refutation has time to spread;
// joins spread in O(log n) probe rounds.
package gossip
