// Package net is memdb's wire protocol: the messages clients and nodes
// exchange, their binary codec, the Transport a node sends through, the
// TCP server that carries them, the connecting side of the handshake
// (Handshake, for clients and peers alike), and Peers, which carries a
// node's messages to other nodes over connections it dials itself.
//
// This comment is the protocol's specification, version 1 (Version). The
// codec in codec.go and peer.go implements it; codec_test.go,
// peer_codec_test.go and FuzzDecode hold the codec to it.
//
// # Framing
//
// A connection carries a stream of frames in both directions. Every frame
// starts with its length, so a reader knows where it ends before decoding
// it, and a CRC-32C (Castagnoli) of everything after the CRC, so corruption
// is caught before any field is trusted. All integers are unsigned and
// big-endian. The header is 28 bytes (HeaderSize):
//
//	offset  size  field          meaning
//	------  ----  -------------  ----------------------------------------------
//	     0     4  length         bytes in the frame after this field: 24 + body
//	                             size; 24 ≤ length ≤ MaxFrame (16 MiB)
//	     4     4  crc            CRC-32C of bytes [8, 4+length): from version
//	                             to the end of the body
//	     8     1  version        protocol version; 1
//	     9     1  kind           which message the body holds (table below)
//	    10     8  id             request id (see Request ids)
//	    18     8  clock.counter  the sender's clock: Lamport counter ...
//	    26     2  clock.node     ... and the node id that breaks ties
//	    28     -  body           the message, laid out by kind (below)
//
// The length, CRC and version fields keep their places in every version of
// the protocol, so a reader can always tell a frame of another version from
// a corrupt one.
//
// # Request ids and pipelining
//
// A client numbers its requests in the id field, and every response carries
// the id of the request it answers. The protocol does not interpret ids: a
// client keeps them unique among its requests in flight on one connection
// and matches responses by id. A client need not wait for one response
// before sending the next request: a connection is pipelined, and a node
// answers each request when it completes, so responses may arrive in a
// different order from their requests. A frame that is not a response to
// anything (the Challenge) has id 0, and so has an Error frame for a frame
// too damaged to have a trustworthy id.
//
// # The session clock
//
// Every frame carries its sender's clock, a Lamport timestamp (counter,
// node). A node stamps the frames it sends with its Lamport clock and, on
// every frame it receives, advances that clock to max(local, received)+1, so
// it never stamps a write before anything its sender had seen. A client
// sends the highest timestamp it has seen — in the clock of every frame it
// received and in the Version of every Value and Done — as its session
// clock. That is how a client's later write is stamped after its earlier
// one, and so wins under last-writer-wins, even when another node
// coordinates it. A client that has seen nothing sends zero. The handshake
// frames may carry zero.
//
// # Handshake
//
// A connection opens with a challenge-response over HMAC-SHA256, so a key
// never crosses the wire (auth.go):
//
//	server → Challenge{version, node, nonce_s}
//	client → Auth{role, node, nonce_c, mac_c}
//	server → AuthOK{mac_s}
//
//	mac_c = HMAC-SHA256(key, "memdb/1 client-proof" | role | node | nonce_s | nonce_c)
//	mac_s = HMAC-SHA256(key, "memdb/1 server-proof" | role | node | nonce_s | nonce_c)
//
// where | is concatenation, role is one byte and node two bytes big-endian
// (the same bytes as in the Auth body), and each nonce is NonceSize random
// bytes drawn fresh for the connection. ClientProof and ServerProof compute
// the two MACs; the different labels keep one side from replaying the
// other's proof, and the nonces from both sides keep either from replaying
// an old one. The server checks mac_c in constant time (VerifyProof) and, if
// it is wrong or the first frame is not an Auth, answers with an Error of
// CodeAuth and closes the connection; the client checks mac_s the same way.
// Clients (role 1) prove the client key; peer nodes (role 2) the cluster key
// and their node id. A node configured with no key for a role accepts any
// proof for it, and proves itself with the empty key. The AuthOK carries the
// Auth's id. A client's first frame must be its Auth.
//
// # TLS
//
// A node may serve TLS only (tls.go). It then writes one plaintext frame as
// soon as it accepts a connection, the preamble: an Error, id 0, clock
// zero, of code 4 (auth refused) with the message TLSRequired. Then it
// expects a TLS ClientHello, and the handshake above, and everything after
// it, runs inside TLS:
//
//	server → Error{4, TLSRequired}            plaintext, the preamble
//	client ⇄ server: TLS handshake (1.2 or later)
//	server → Challenge ...                    as above, inside TLS
//
// The server speaks first in this protocol, so without the preamble a
// client that does not speak TLS would wait for a Challenge until its
// deadline; with it, every client of version 1 fails at once with a refusal
// that says what to do. A TLS client checks that the first frame is exactly
// the preamble (StartTLS): any other frame — a Challenge — means the node
// serves plaintext (ErrNoTLS). The preamble is not trusted for anything
// else; TLS authenticates what follows. A node requiring certificates asks
// for one in the TLS handshake and checks it by role once the Auth frame
// names the role: a peer's against the cluster CA, a client's against the
// client CA; a connection without a good one is refused with CodeAuth like
// a wrong key. Keys are proved inside TLS all the same.
//
// # Messages
//
// Kinds, by number:
//
//	kind  message    sent by  answered by / answers
//	----  ---------  -------  ----------------------------------------
//	   0  (invalid)  -        never sent; decoded as an unknown kind
//	   1  Challenge  server   first frame on every connection
//	   2  Auth       client   answers Challenge
//	   3  AuthOK     server   answers Auth
//	  10  Get        client   Value or Error
//	  11  Set        client   Done or Error
//	  12  Delete     client   Done or Error
//	  13  Contains   client   Bool or Error
//	  14  CAS        client   Bool (true: swapped) or Error
//	  15  Incr       client   CounterValue or Error (also forwarded by a
//	                          node to the replica that applies it)
//	  16  GetCounter client   CounterValue or Error
//	  17  Batch      client   Done (the batch's version) or Error
//	  20  Compact    client   Done (once the compacted log is durable) or Error
//	  21  Ring       client   RingInfo or Error
//	  30  Info       client   InfoReply (or peer; answered by the host)
//	  40  Value      node     answers Get and Read
//	  41  Done       node     answers Set, Delete, Compact and Replicate
//	  42  Bool       node     answers Contains and CAS
//	  43  Error      node     answers any request that failed
//	  44  RingInfo   node     answers Ring
//	  45  CounterValue node   answers Incr and GetCounter
//	  50  InfoReply  node     answers Info
//	  60  Gossip     peer     nothing (the membership protocol, node/gossip)
//	  61  Replicate  peer     Done or Error if its id is nonzero; nothing if 0
//	  62  Read       peer     Value or Error
//	  63  Sync       peer     SyncBatch or Error
//	  64  SyncBatch  peer     answers Sync
//	  65  Prepare    peer     Promise or Error (Paxos phase 1)
//	  66  Promise    peer     answers Prepare
//	  67  Propose    peer     Accepted or Error (Paxos phase 2)
//	  68  Accepted   peer     answers Propose
//	  69  Peek       peer     AcceptorState or Error (a serial read's
//	                          read-only path: promises nothing)
//	  70  AcceptorState peer  answers Peek
//	  71  Digest     peer     DigestReply or Error (anti-entropy)
//	  72  DigestReply peer    answers Digest
//	  73  PaxosKeys  peer     PaxosKeysReply or Error (Paxos repair of
//	                          arcs that change hands)
//	  74  PaxosKeysReply peer answers PaxosKeys
//	  75  Take       peer     Done or Error (take arcs of a removed
//	                          member from their remaining owners)
//	  76  State      peer     answers Read when the key holds a state a
//	                          Value cannot carry (a counter's slots)
//	  77  DigestBefore peer   DigestReply or Error (anti-entropy over the
//	                          versions stamped at or before a horizon)
//	  78  Holds      peer     Bool or Error (does a replica hold a
//	                          batch's write durably: batch records'
//	                          collection)
//
// Kinds 60 to 78 are peer messages: a node takes them only on a connection
// that authenticated as a peer (role 2), and answers one on a client
// connection with CodeUnknownKind. Peer messages are not tied to a
// connection: a node sends each one on its own connection to the
// recipient's address, so an answer may come back on a different
// connection from its request's, and the id matches them. They are
// unreliable (see Transport): a lost one is retried by the protocol above.
//
// Each body's layout follows, offsets from the start of the body (byte 28
// of the frame). A key is 2 bytes of length k then k bytes, 1 ≤ k ≤ MaxKey
// (65535); a value is 4 bytes of length v then v bytes, 0 ≤ v ≤ MaxValue
// (8 MiB); a timestamp is a counter (8 bytes) then a node id (2 bytes), as
// in the header; a bool is one byte, 0 or 1. The body must end exactly where
// the frame does.
//
//	Challenge (1)                        Auth (2)
//	offset  size  field                  offset  size  field
//	     0     1  version (highest the        0     1  role: 1 client, 2 peer
//	              server speaks)              1     2  node (peer's id; 0 for
//	     1     2  node (server's id)                    a client)
//	     3    16  nonce_s                     3    16  nonce_c
//	    19        end                        19    32  mac_c
//	                                         51        end
//
//	AuthOK (3)                           Get (10), Delete (12), Contains (13)
//	offset  size  field                  offset  size  field
//	     0    32  mac_s                       0     1  consistency
//	    32        end                         1     2  key length k
//	                                          3     k  key
//	                                        3+k        end
//
//	Set (11)                             Value (40)
//	offset  size  field                  offset  size  field
//	     0     1  consistency                 0     1  found (bool)
//	     1     2  key length k                1     8  version.counter
//	     3     k  key                         9     2  version.node
//	   3+k     4  value length v             11     4  value length v (0 if
//	   7+k     v  value                                 not found)
//	 7+k+v        end                        15     v  value
//	                                       15+v        end
//
//	Compact (20) has an empty body: it ends at offset 0.
//
//	Done (41)                            Bool (42)
//	offset  size  field                  offset  size  field
//	     0     8  version.counter             0     1  value (bool)
//	     8     2  version.node                1        end
//	    10        end
//
//	Error (43)
//	offset  size  field
//	     0     2  code (table below)
//	     2     2  message length m, m ≤ 4096; longer messages are cut
//	              by the sender, at a UTF-8 character boundary
//	     4     m  message, UTF-8, for people
//	   4+m        end
//
//	Ring (21) has an empty body: it ends at offset 0.
//
//	RingInfo (44)
//	offset  size  field
//	     0     1  replicas (the replication factor)
//	     1     4  ring length r, r ≤ MaxValue
//	     5     r  ring, in node/ring's encoding
//	   5+r     4  address count n (a count, below)
//	   9+r        n addresses, each:
//	                 0     2  node
//	                 2     1  address length a
//	                 3     a  address, "host:port"
//	               3+a        end of the address
//	              end
//
// An address is at most 255 bytes; a sender cuts a longer one.
//
//	Info (30) has an empty body: it ends at offset 0. A client or a peer
//	may send it; it asks about the node's host, not its store.
//
//	InfoReply (50)
//	offset  size  field
//	     0     2  node
//	     2     1  version length v
//	     3     v  version, UTF-8 (memdb's, for people)
//	   3+v     1  admin length a
//	   4+v     a  admin, the base URL of the admin API ("http://host:port",
//	              or https), empty if the node has none
//	   4+v+a      end
//
// Like an address, each string is at most 255 bytes; a sender cuts it.
//
// The peer messages share two parts. A count is 4 bytes: the number of
// elements that follow. A decoder refuses a count whose elements, at their
// smallest, would not fit in the rest of the body, so a forged count never
// makes it allocate more than the frame holds. A cursor is a key that may
// be empty: 2 bytes of length c, 0 ≤ c ≤ MaxKey, then c bytes; empty means
// "from the first key" (Sync) or "none" (SyncBatch). An entry is one
// stamped version of a key, a value or a tombstone:
//
//	Entry (in Replicate and SyncBatch)
//	offset  size  field
//	     0     2  key length k, 1 ≤ k ≤ MaxKey
//	     2     k  key
//	   2+k     1  deleted (bool): 1 for a tombstone
//	   3+k     8  stamp.counter  the write's timestamp; never zero
//	  11+k     2  stamp.node
//	  13+k     4  value length v (0 for a tombstone)
//	  17+k     v  value
//	17+k+v        end (an entry takes at least 18 bytes)
//
// A tombstone with value bytes, or an entry whose stamp is zero, is
// malformed. The state byte (once only "deleted") says which kind of value
// the entry holds, each kind defined once in node/store (kind.go) and
// encoded there (encode.go): 0 a register's value, 1 a register's
// tombstone, 2 a counter's slots (the value is node/store's encoding of
// them; the stamp is the latest slot's version), 3 a register with batch
// intents (the value is node/store's encoding of the register's value and
// its intents; the stamp is the latest write in it). Other values are
// reserved for other kinds and refused until one is defined.
//
//	Gossip (60)                          Read (62)
//	offset  size  field                  offset  size  field
//	     0     4  payload length p,           0     8  epoch
//	              p ≤ MaxValue                8     2  key length k
//	     4     p  payload (node/gossip       10     k  key
//	              owns its format)         10+k        end
//	   4+p        end
//
//	Replicate (61)                       SyncBatch (64)
//	offset  size  field                  offset  size  field
//	     0     8  epoch (the sender's         0     4  entry count n
//	              ring epoch)                 4        n entries in key
//	     8     4  entry count n                        order, e bytes
//	    12        n entries, e bytes        4+e     1  more (bool)
//	  12+e     1  carry (optional:          5+e     2  next length c
//	              absent means 0): 0        7+e     c  next: a cursor, to
//	              state, 1 write,                      ask after if more
//	              2 copy (Carry)          7+e+c        end
//	  13+e        end (12+e without carry)
//
//	Sync (63)
//	offset      size  field
//	     0         8  epoch
//	     8         4  span count s
//	    12       16s  spans, each: start (8), end (8), the arc (start, end]
//	                  of the ring; start == end is the whole ring
//	12+16s         4  mark count m
//	16+16s       10m  marks, each: origin (2), counter (8)
//	     o         2  after length c, where o = 16+16s+10m
//	   o+2         c  after: a cursor; entries after it (empty: from the first)
//	 o+2+c         4  limit: about how many bytes of entries to answer with
//	 o+6+c            end
//
//	Digest (71)                          DigestReply (72)
//	offset      size  field              offset  size  field
//	     0         8  epoch                   0     4  digest count d (the
//	     8         4  span count s                     span count asked)
//	    12       16s  spans, as in Sync       4    8d  digests, one per span
//	12+16s            end                              in order: the sum mod
//	                                                   2^64 of FNV-1a 64 of
//	                                                   key, stamp, tombstone
//	                                                   flag and value, over
//	                                                   the keys held in it
//	                                       4+8d        end
//
//	PaxosKeys (73): as Digest, then      PaxosKeysReply (74)
//	12+16s      1  states (0 or 1):      offset  size  field
//	                  every key with          0     4  key count c
//	                  acceptor state,         4        c keys in key order,
//	                  with that state                  each a key (2 bytes
//	13+16s   4+a  after: 4 bytes of                    of length, then it):
//	                  length a, then the               those with a proposal
//	                  key the page starts              accepted and not
//	                  after (a = 0: from               committed (or, if
//	                  the first)                       states, any state)
//	17+16s+a       end                        …     1  states (0 or 1), then
//	                                                   if 1, per key in the
//	                                                   same order: promised
//	                                                   ballot (10), accepted
//	                                                   ballot (10), accepted
//	                                                   value (4 + bytes)
//	                                          …     1  more (0 or 1): other
//	                                                   keys follow the last
//	                                                   (never with c = 0)
//
//	DigestBefore (77): as Digest, then
//	12+16s     10  horizon: a timestamp; versions stamped after it are
//	               left out of every sum
//	22+16s     10  expired (optional: absent means zero): a timestamp;
//	               plain tombstones stamped at or before it are left out
//	               of every sum (node/grave.go)
//	32+16s         end (22+16s without expired)
//
//	Take (75): as Digest, then
//	12+16s      2  owner count o (at least 1)
//	14+16s     2o  owners' node ids (not 0), the first to stream from
//	14+16s+2o      end
//
//	Incr (15)                            GetCounter (16)
//	offset  size  field                  offset  size  field
//	     0     1  consistency (not 4)         0     1  consistency (not 4)
//	     1     2  key length k                1     2  key length k
//	     3     k  key                         3     k  key
//	   3+k     8  delta (two's             3+k        end
//	              complement)
//	  11+k     8  session                CounterValue (45)
//	  19+k     8  seq                    offset  size  field
//	  27+k     4  attempt (0 first,           0     8  value (two's
//	              ≤ 65535)                             complement)
//	  31+k    10  first: the session          8        end
//	              clock when the call
//	              began (a timestamp)
//	  41+k        end
//
//	State (76)
//	offset  size  field
//	     0     e  one entry (as above)
//	     e        end
//
//	Batch (17)
//	offset  size  field
//	     0     1  token length t, 8 ≤ t ≤ 64
//	     1     t  token
//	   1+t     2  writes w, 1 ≤ w ≤ MaxBatchKeys (128)
//	   3+t        w writes, each:
//	                2  key length k, then k bytes of key
//	                1  op: 0 set, 1 delete
//	                4  value length v, then v bytes (a set only)
//	              end
//
// A batch writes every key or none, at one version (node/batch.go has the
// protocol). Its keys and values together are at most MaxBatchBytes
// (4 MiB); over either bound the frame is too large. A key written twice
// is refused (bad key), as are the cluster's own keys (unsupported) and a
// key holding a counter (wrong kind), before anything is written. The
// token names the batch across a client's retries: an attempt of a batch
// already decided answers the decision (Done, or aborted), never applies
// it again.
//
// Session and seq name an increment across its retries; attempt counts
// the retries, and first is the same in every attempt (Incr's doc in
// counter.go has how a replica judges a retry). A delta of 0 is refused (unsupported): read with GetCounter.
//
//	CAS (14)
//	offset      size  field
//	     0         2  key length k
//	     2         k  key
//	   2+k         1  old found (bool): 0 means "swap only if absent"
//	   3+k         4  old length o (0 if old found is 0)
//	   7+k         o  old value
//	 7+k+o         4  new length v
//	11+k+o         v  new value
//	11+k+o+v          end
//
// A ballot is a timestamp, never zero; a ballot field of zero in Promise
// means "none".
//
//	Prepare (65)                         Propose (67)
//	offset  size  field                  offset  size  field
//	     0     8  epoch                       0     8  epoch
//	     8     8  ballot.counter              8     8  ballot.counter
//	    16     2  ballot.node                16     2  ballot.node
//	    18     2  key length k               18     2  key length k
//	    20     k  key                        20     k  key
//	  20+k        end                      20+k     4  value length v
//	                                       24+k     v  value
//	                                     24+k+v        end
//
//	Promise (66)                         Accepted (68)
//	offset    size  field                offset  size  field
//	     0       1  ok (bool)                 0     1  ok (bool)
//	     1      10  promised: the             1    10  promised: when not
//	                acceptor's higher                   ok, the acceptor's
//	                ballot when not ok                  higher ballot
//	    11      10  accepted: the ballot     11    10  accepted: when not
//	                of an accepted,                     ok, the latest ballot
//	                uncommitted proposal                it accepted or holds
//	                                                    committed
//	                                         21        end
//	    21       4  its value length a (0 if none)
//	    25       a  its value
//	  25+a       1  found (bool)
//	  26+a      10  version: the acceptor's committed version of the key
//	  36+a       4  value length v (0 if not found)
//	  40+a       v  value
//	40+a+v          end
//
// A committed proposal travels as a Replicate whose entry is stamped with
// the proposal's ballot.
//
// Peek asks an acceptor for its state of a key and promises nothing: the
// acceptor logs nothing and changes nothing, and answers with what a
// Promise would carry, without ok and promised. A serial read peeks at a
// quorum and runs a full round (Prepare, Propose) only if some answer shows
// a proposal newer than every committed version shown (node/paxosread.go).
// Peek's body is laid out like Read's.
//
//	Peek (69)                            AcceptorState (70)
//	offset  size  field                  offset    size  field
//	     0     8  epoch                       0      10  accepted: the ballot
//	     8     2  key length k                           of an accepted,
//	    10     k  key                                    uncommitted proposal
//	  10+k        end                                    (zero if none)
//	                                         10       4  its value length a
//	                                                     (0 if none)
//	                                         14       a  its value
//	                                       14+a       1  found (bool)
//	                                       15+a      10  version: the
//	                                                     acceptor's committed
//	                                                     version of the key
//	                                       25+a       4  value length v (0 if
//	                                                     not found)
//	                                       29+a       v  value
//	                                     29+a+v          end
//
// As in Promise, value bytes with a zero accepted ballot, or with found 0,
// are malformed.
//
// Value's version is the timestamp of the write read: of the tombstone for
// a deleted key, zero for a key never written. Done's is the timestamp the
// write was stamped with. Value answers Read the same way: found false with
// a nonzero version is a tombstone.
//
// Consistency levels: 0 default (the node chooses; quorum), 1 one,
// 2 quorum, 3 all, 4 serial (linearizable, through Paxos: a Get or
// Contains peeks at a quorum of acceptors and runs a Paxos round only if a
// proposal is in progress, a Set is a Paxos put; Delete does not take it). Any other byte is malformed. Mixing serial and plain
// writes on one key is not linearizable.
//
// # Errors
//
// Error codes, by number (errors.go):
//
//	code  name             meaning                                   closes
//	----  ---------------  ----------------------------------------  ------
//	   1  malformed        the frame could not be decoded             yes
//	   2  too large        a frame or value exceeds its limit         yes
//	   3  bad key          a key is empty or longer than MaxKey       yes
//	   4  auth refused     the handshake failed or was skipped        yes
//	   5  unknown command  the kind is unknown, or not a request      no
//	   6  unavailable      too few replicas answered; nothing written no
//	   7  unknown outcome  timed out after a write may have happened  no
//	   8  internal         a bug or an I/O failure in the node        no
//	   9  unsupported      a valid request this node cannot serve     no
//	  10  shutting down    the node takes no new requests             no
//	  11  contention       a CAS lost to other proposers; not applied no
//	  12  stale ring       (peers) a request made on an older ring;   no
//	                       nothing done, resend on the newer one
//	  13  wrong kind       the key holds another kind of value (an    no
//	                       incr of a value, a get of a counter)
//	  14  overflow         an increment would take a counter out of   no
//	                       int64; nothing applied
//	  15  aborted          a batch was aborted: none of its writes    no
//	                       applied, nor ever will
//	  16  stale stamp      (peers) a write stamped at or below the    no
//	                       replica's tombstone floor, of a key it
//	                       holds nothing of; nothing done, restamp
//
// A frame the receiver cannot trust ends the connection: the receiver sends
// one Error frame with the matching code and closes, and the node goes on
// serving every other connection. Decode says which case a frame is in:
//
//   - ErrShort: only part of a frame is buffered yet; read more.
//   - A length over MaxFrame (ErrTooLarge) or under 24, a CRC mismatch
//     (ErrChecksum) or another version (ErrVersion): the stream cannot be
//     resynchronized. Reply with id 0 (CodeTooLarge or CodeMalformed) and
//     close. FrameLen spots an oversized length from the first 4 bytes, so
//     an oversized frame is refused before it is buffered.
//   - An intact frame (its CRC matched) whose body is wrong — malformed
//     (ErrMalformed), a value over MaxValue (ErrTooLarge), an empty key
//     (ErrBadKey): reply with the frame's id and close.
//   - An intact frame of an unknown kind (ErrUnknownKind): reply with an
//     Error of CodeUnknownKind and the frame's id, skip the frame, and go
//     on. A known kind that is not a request (a client sending a Value) is
//     answered the same way by the node.
//
// CodeOf maps a codec error to the code to reply with. Codes 6 to 10 answer
// a well-formed request and leave the connection open. A client treats a
// write answered with CodeUnknownOutcome (or not answered at all) as
// unknown, never as failed.
//
// # Limits
//
//	MaxKey    65535 bytes (2^16-1)  keys are also never empty
//	MaxValue  8 MiB (2^23)
//	MaxFrame  16 MiB (2^24)         the length field; its own 4 bytes not counted
//
// Keys that start with the bytes 0x00 "memdb/" are the cluster's own (the
// movement lock of joins and leaves); a request on one is answered
// unsupported.
//
// Every valid message fits in a frame: the largest, a Set with a maximal
// key and value, is 28+7+65535+8 MiB bytes. ValidateKey and ValidateValue
// check input against the limits before it is encoded; AppendFrame panics
// on a key it cannot encode, since that is a bug in the caller.
//
// # Compatibility
//
// Kind numbers and code numbers are never renumbered or reused: a new
// message gets a new kind number, a new failure a new code. An unknown kind
// in an intact frame gets an Error reply with CodeUnknownKind and the
// connection continues, so a newer client can probe an older node. A client
// treats an unknown error code as a failure of the request it answers. A
// change to an existing body's layout, or to the header, is a new protocol
// version; Challenge tells the client the highest version the server
// speaks.
package net
