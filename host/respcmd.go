package host

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/net/resp"
)

// The RESP front door's commands. Everything here runs on the loop.
//
// A connection is a session: its protocol version (RESP2 until HELLO 3),
// whether it has authenticated, its name, its consistency level
// (MEMDB.CONSISTENCY), and the highest Lamport timestamp it has seen,
// which every request it makes carries, as the Go client's do — so a
// connection's later write always wins over its earlier one, through any
// node.
//
// Replies go out in the order of the commands, as RESP requires, though
// the node may answer a pipeline's requests in any order: each command
// takes a place in the connection's queue, and the queue's head is written
// as soon as it is complete.
//
// Commands also take effect in order. A command that names a key an
// earlier command of the connection has not finished with waits for it
// (deferred), and every command after a waiting one waits too, so
// session commands (HELLO, MEMDB.CONSISTENCY, ...) apply exactly between
// the commands around them. Commands on keys of their own run at once:
// a pipeline of writes to distinct keys is still sent to the node
// together. Without this, SET k a followed by GET k in one pipeline could
// read nothing, and DEL k then SET k could erase the SET.

// respSession is one RESP connection's state on the loop.
type respSession struct {
	s      *Server
	c      *respConn
	proto  int
	authed bool
	name   string
	level  net.Consistency
	clock  clock.Timestamp
	nextID uint64
	// queue holds the replies of the commands read, in order; the head is
	// written once done.
	queue []*respReply
	// waits maps the ids of requests made to the node to what is done with
	// their answers. The request being sent (sending) is not in it: the
	// node answers most at once (all on one node, rf 1), and only one not
	// answered by the time it returns enters waits.
	waits   map[uint64]respWait
	sending bool
	sendID  uint64
	sendW   respWait
	// free holds replies written out, for pending to reuse; out is
	// flush's buffer.
	free []*respReply
	out  []byte
	// ending: the connection takes no more commands (QUIT, a protocol
	// error, the client closed); it closes once queue is empty.
	ending bool
	// busy counts, per key, the commands in queue not finished with it
	// once they were run (marked: marked counts those replies); running
	// are the keys of the commands being run, which hold them meanwhile
	// (run can run deferred commands within, from an answer the node
	// gives). A command the node answers at once, as on one node (rf 1),
	// never enters busy. deferred are the commands waiting for their turn
	// (see above); keys are the keys of the command being run, which the
	// reply it queues (last) holds until done.
	//
	// busy is keyed by a hash of the key (busyKey), which costs no
	// allocation per command: on one node the log acknowledges a write
	// at the end of the event that made it (oplog.Config.Coalesce), so
	// every write enters busy. Two keys with one hash only make a command
	// wait for one on another key, which is safe.
	busy     map[uint64]int
	marked   int
	running  [][][]byte
	deferred [][][]byte
	keys     [][]byte
	last     *respReply
	// session names this connection's increments, each numbered by
	// seq (see counters): the connection is the client, with one session.
	session, seq uint64
	// send hands a request to the node (node.Request in a server; tests
	// of the commands alone catch it).
	send func(net.Frame)
}

// respReply is one command's reply: done once out holds all of it. keys
// are the keys its command holds (busy) until it is done.
type respReply struct {
	out    []byte
	done   bool
	keys   [][]byte
	marked bool // keys are counted in busy
	// answer, when set, turns the node's answer into out (GET, SET: the
	// commands that make one request), with proto the connection's
	// protocol when the command was read; the rest pass a function.
	answer respAnswerKind
	proto  int
}

// respAnswerKind is how a one-request command's reply is made from its
// answer, without a function of its own per command.
type respAnswerKind uint8

const (
	answerFunc  respAnswerKind = iota // respWait.then does it
	answerValue                       // GET: the value or null
	answerOK                          // SET: +OK
)

// respWait is what is done with the answer to one request: then, or, for
// an answer kind, r.
type respWait struct {
	then func(net.Frame)
	r    *respReply
}

// okReply is SET's reply.
var okReply = []byte("+OK\r\n")

func (s *Server) respOpen(c *respConn) {
	s.respSessions[c.id] = &respSession{s: s, c: c, proto: resp.RESP2, authed: s.cfg.ClientKey == "",
		waits: make(map[uint64]respWait), busy: make(map[uint64]int),
		session: newCounterSession(), send: func(f net.Frame) { s.request(c.id, f) }}
}

// respCommands runs the commands one read of connection id brought.
func (s *Server) respCommands(id net.ConnID, cmds [][][]byte) {
	ss := s.respSessions[id]
	if ss == nil {
		return
	}
	for _, args := range cmds {
		if ss.ending {
			break
		}
		if len(ss.deferred) > 0 || ss.waitsFor(args) {
			ss.deferred = append(ss.deferred, args)
			continue
		}
		ss.run(args)
	}
	ss.flush()
}

// commandKeys are the keys a command reads or writes (none for the rest).
func commandKeys(args [][]byte) [][]byte {
	return lookupCommand(args[0]).keysOf(args)
}

// respKeys says which of a command's arguments are keys.
type respKeys uint8

const (
	keysNone  respKeys = iota
	keysFirst          // the first argument
	keysAll            // every argument
	keysPairs          // every other one from the first (MSET's keys)
)

// keysOf returns the keys of a command's arguments (c may be nil: an
// unknown command, which has none).
func (c *respCommand) keysOf(args [][]byte) [][]byte {
	if c == nil || len(args) < 2 {
		return nil
	}
	switch c.keys {
	case keysFirst:
		return args[1:2]
	case keysAll:
		return args[1:]
	case keysPairs:
		keys := make([][]byte, 0, len(args)/2)
		for i := 1; i < len(args); i += 2 {
			keys = append(keys, args[i])
		}
		return keys
	}
	return nil
}

// busySeed seeds busyKey's hash.
var busySeed = maphash.MakeSeed()

// busyKey is key's entry in a session's busy counts.
func busyKey(key []byte) uint64 { return maphash.Bytes(busySeed, key) }

// waitsFor reports whether the command names a key an earlier command of
// the connection has not finished with.
func (ss *respSession) waitsFor(args [][]byte) bool {
	if len(ss.busy) == 0 && len(ss.running) == 0 {
		return false
	}
	for _, k := range commandKeys(args) {
		if ss.busy[busyKey(k)] > 0 {
			return true
		}
		for _, keys := range ss.running {
			for _, rk := range keys {
				if bytes.Equal(k, rk) {
					return true
				}
			}
		}
	}
	return false
}

// run executes one command, holding its keys until its reply is done:
// while it runs (running), then, if the node has not answered it all by
// then, in busy.
func (ss *respSession) run(args [][]byte) {
	c := lookupCommand(args[0])
	keys := c.keysOf(args)
	ss.keys = keys
	last := ss.last
	ss.last = nil
	if keys != nil {
		ss.running = append(ss.running, keys)
	}
	ss.exec(c, args)
	if keys != nil {
		ss.running[len(ss.running)-1] = nil
		ss.running = ss.running[:len(ss.running)-1]
	}
	r := ss.last
	ss.keys, ss.last = nil, last
	if r != nil && !r.done && r.keys != nil {
		for _, k := range r.keys {
			ss.busy[busyKey(k)]++
		}
		r.marked = true
		ss.marked++
	}
}

// release frees the keys of the replies done since it last ran, then runs
// the deferred commands whose turn has come.
func (ss *respSession) release() {
	for i := 0; i < len(ss.queue) && ss.marked > 0; i++ {
		if r := ss.queue[i]; r.done && r.marked {
			for _, k := range r.keys {
				if h := busyKey(k); ss.busy[h] <= 1 {
					delete(ss.busy, h)
				} else {
					ss.busy[h]--
				}
			}
			r.keys, r.marked = nil, false
			ss.marked--
		}
	}
	for len(ss.deferred) > 0 && !ss.ending && !ss.waitsFor(ss.deferred[0]) {
		args := ss.deferred[0]
		ss.deferred[0] = nil
		ss.deferred = ss.deferred[1:]
		ss.run(args)
	}
}

// respEnd: the connection's reader stopped, after a protocol error (pe)
// or because the connection ended. A protocol error is answered after the
// replies of the commands before it, then the connection closes.
func (s *Server) respEnd(id net.ConnID, pe *resp.ProtocolError) {
	ss := s.respSessions[id]
	if ss == nil {
		return
	}
	if pe != nil && !ss.ending {
		ss.immediate(resp.AppendError(nil, "ERR "+pe.Error()))
	}
	ss.ending = true
	ss.flush()
}

// respAnswer hands the node's answer to a request of a RESP connection to
// the command that made it. Called by the transport, on the loop; f's byte
// slices are the node's, so whatever is kept of them is copied now.
func (s *Server) respAnswer(id net.ConnID, f net.Frame) {
	ss := s.respSessions[id]
	if ss == nil {
		return
	}
	var w respWait
	if ss.sending && f.ID == ss.sendID {
		w, ss.sending = ss.sendW, false
	} else if w = ss.waits[f.ID]; w.then != nil || w.r != nil {
		delete(ss.waits, f.ID)
	} else {
		return
	}
	ss.clock = ss.clock.Max(f.Clock)
	if w.then != nil {
		w.then(f)
	} else {
		ss.answer(w.r, f.Msg)
	}
	ss.release()
	ss.flush()
}

// answer completes r, a one-request command's reply, from the answer m.
func (ss *respSession) answer(r *respReply, m net.Message) {
	switch r.answer {
	case answerValue:
		r.out = ss.valueReply(r.out[:0], m, r.proto)
	case answerOK:
		if e := ss.doneReply(m, nil); e != nil {
			r.out = append(r.out[:0], e...)
		} else {
			r.out = append(r.out[:0], okReply...)
		}
	}
	r.done = true
}

// flush writes the replies at the head of the queue that are done, and
// closes an ending connection once nothing is left.
func (ss *respSession) flush() {
	n := 0
	out := ss.out[:0]
	for n < len(ss.queue) && ss.queue[n].done {
		r := ss.queue[n]
		out = append(out, r.out...)
		ss.queue[n] = nil
		if r.answer != answerFunc && len(ss.free) < respMaxFree && cap(r.out) <= respMaxFreeBytes {
			// No function refers to r: it can be used again.
			*r = respReply{out: r.out[:0]}
			ss.free = append(ss.free, r)
		}
		n++
	}
	if n > 0 {
		ss.queue = ss.queue[:copy(ss.queue, ss.queue[n:])]
		ss.c.pending.Add(-int64(n))
		ss.c.write(out) // it copies out
		if cap(out) <= respMaxFreeBytes {
			ss.out = out[:0]
		}
	}
	if ss.ending && len(ss.queue) == 0 {
		ss.c.close()
		if len(ss.waits) == 0 {
			delete(ss.s.respSessions, ss.c.id)
			ss.s.metrics.closed(ss.c.id)
			// Not from inside the node's own reply (flush runs there).
			id := ss.c.id
			ss.s.later(func() { ss.s.node.Disconnected(id) })
		}
	}
}

// immediate queues a reply that is complete now.
func (ss *respSession) immediate(out []byte) {
	ss.queue = append(ss.queue, &respReply{out: out, done: true})
}

// respMaxFree bounds the replies a session keeps to reuse, and
// respMaxFreeBytes the buffer of one it keeps (and of flush's).
const (
	respMaxFree      = 64
	respMaxFreeBytes = 64 << 10
)

// pending queues a reply the node's answers will complete; it holds the
// keys of the command being run until then.
func (ss *respSession) pending() *respReply {
	var r *respReply
	if n := len(ss.free); n > 0 {
		r, ss.free = ss.free[n-1], ss.free[:n-1]
		r.keys = ss.keys
	} else {
		r = &respReply{keys: ss.keys}
	}
	ss.keys, ss.last = nil, r
	ss.queue = append(ss.queue, r)
	return r
}

// request sends msg to the node as a client request of this connection;
// then runs with the answer. The node may answer at once (a refused key),
// so the wait is registered first.
func (ss *respSession) request(msg net.Message, then func(net.Frame)) {
	ss.send1(msg, respWait{then: then})
}

// requestFor is request for a one-request command, whose reply r is made
// from the answer as r.answer says.
func (ss *respSession) requestFor(r *respReply, msg net.Message) {
	ss.send1(msg, respWait{r: r})
}

func (ss *respSession) send1(msg net.Message, w respWait) {
	ss.nextID++
	id := ss.nextID
	if ss.sending {
		// A request made while another is being sent (from an answer
		// the node gave meanwhile): that one waits in the map.
		ss.waits[ss.sendID] = ss.sendW
	}
	ss.sending, ss.sendID, ss.sendW = true, id, w
	ss.send(net.Frame{ID: id, Clock: ss.clock, Msg: msg})
	if ss.sending && ss.sendID == id {
		ss.waits[id] = w
		ss.sending = false
	}
}

// nodeError returns the RESP error for a node's error answer, or nil if m
// is not one. The first word is the error's code, for programs: UNKNOWN
// (the write may or may not have happened), TRYAGAIN (contention: it
// certainly did not happen), UNAVAILABLE (not enough replicas, or the node
// is stopping: nothing was written), ERR for the rest.
func nodeError(m net.Message) []byte {
	e, ok := m.(*net.Error)
	if !ok {
		return nil
	}
	word := "ERR"
	switch e.Code {
	case net.CodeWrongKind:
		// Redis's own words, which clients recognize.
		return resp.AppendError(nil, wrongType)
	case net.CodeUnknownOutcome:
		word = "UNKNOWN"
	case net.CodeContention:
		word = "TRYAGAIN"
	case net.CodeUnavailable, net.CodeShuttingDown:
		word = "UNAVAILABLE"
	case net.CodeAborted:
		word = "ABORTED"
	}
	return resp.AppendError(nil, word+" "+e.Code.String()+": "+e.Message)
}

// unexpected is the error for an answer of the wrong kind (a bug).
func unexpected(m net.Message) []byte {
	return resp.AppendError(nil, fmt.Sprintf("ERR internal: unexpected answer %s", m.Kind()))
}

// respCommand is one command: its arity as Redis counts it (the name
// included; negative means at least that many) and what it does.
type respCommand struct {
	arity int
	keys  respKeys
	run   func(ss *respSession, args [][]byte)
	// beforeAuth: the command may run before AUTH on a connection that
	// must authenticate.
	beforeAuth bool
}

var respCommands map[string]*respCommand

func init() {
	cmds := map[string]*respCommand{
		"get":               {keys: keysFirst, arity: 2, run: (*respSession).get},
		"set":               {keys: keysFirst, arity: -3, run: (*respSession).set},
		"setnx":             {keys: keysFirst, arity: 3, run: (*respSession).setnx},
		"del":               {keys: keysAll, arity: -2, run: (*respSession).del},
		"unlink":            {keys: keysAll, arity: -2, run: (*respSession).del},
		"exists":            {keys: keysAll, arity: -2, run: (*respSession).exists},
		"mget":              {keys: keysAll, arity: -2, run: (*respSession).mget},
		"mset":              {keys: keysPairs, arity: -3, run: (*respSession).mset},
		"msetnx":            {arity: -3, run: refuseMsetnx},
		"incr":              {keys: keysFirst, arity: 2, run: (*respSession).incr},
		"decr":              {keys: keysFirst, arity: 2, run: (*respSession).incr},
		"incrby":            {keys: keysFirst, arity: 3, run: (*respSession).incr},
		"decrby":            {keys: keysFirst, arity: 3, run: (*respSession).incr},
		"ping":              {arity: -1, run: (*respSession).ping},
		"echo":              {arity: 2, run: (*respSession).echo},
		"hello":             {arity: -1, run: (*respSession).hello, beforeAuth: true},
		"auth":              {arity: -2, run: (*respSession).auth, beforeAuth: true},
		"select":            {arity: 2, run: (*respSession).selectDB},
		"client":            {arity: -2, run: (*respSession).client},
		"command":           {arity: -1, run: (*respSession).command},
		"config":            {arity: -2, run: (*respSession).config},
		"quit":              {arity: -1, run: (*respSession).quit, beforeAuth: true},
		"memdb.consistency": {arity: -1, run: (*respSession).consistency},
	}
	// Clients send names in either case; both are looked up without
	// allocating, and anything else is lowered first.
	respCommands = make(map[string]*respCommand, 2*len(cmds))
	for name, c := range cmds {
		respCommands[name] = c
		respCommands[strings.ToUpper(name)] = c
	}
}

// lookupCommand returns the command named name, or nil.
func lookupCommand(name []byte) *respCommand {
	c := respCommands[string(name)]
	if c == nil {
		c = respCommands[string(bytes.ToLower(name))]
	}
	return c
}

// exec runs one command, c (nil if args[0] names none).
func (ss *respSession) exec(c *respCommand, args [][]byte) {
	switch {
	case c == nil:
		ss.immediate(resp.AppendError(nil, unknownCommand(args)))
	case !ss.authed && !c.beforeAuth:
		ss.immediate(resp.AppendError(nil, "NOAUTH Authentication required."))
	case c.arity > 0 && len(args) != c.arity, c.arity < 0 && len(args) < -c.arity:
		ss.immediate(resp.AppendError(nil, fmt.Sprintf("ERR wrong number of arguments for '%s' command", bytes.ToLower(args[0]))))
	default:
		c.run(ss, args)
	}
}

// unknownCommand is Redis's error for a command it does not know.
func unknownCommand(args [][]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ERR unknown command '%.128s', with args beginning with: ", args[0])
	for _, a := range args[1:min(len(args), 4)] {
		fmt.Fprintf(&b, "'%.128s' ", a)
	}
	return b.String()
}

func (ss *respSession) get(args [][]byte) {
	r := ss.pending()
	r.answer, r.proto = answerValue, ss.proto
	ss.requestFor(r, &net.Get{Level: ss.level, Key: args[1]})
}

// valueReply appends the reply to a Get: the value, or null in protocol
// proto (the connection's when the command was read: a HELLO after it in
// a pipeline must not change its reply).
func (ss *respSession) valueReply(b []byte, m net.Message, proto int) []byte {
	switch m := m.(type) {
	case *net.Value:
		ss.clock = ss.clock.Max(m.Version)
		if !m.Found {
			return resp.AppendNull(b, proto)
		}
		return resp.AppendBulk(b, m.Value)
	case *net.Error:
		return append(b, nodeError(m)...)
	}
	return append(b, unexpected(m)...)
}

// set is SET key value [NX]. NX is a compare-and-set from absence (Paxos
// among the key's replicas); like every cas, it is linearizable only on
// keys whose writes are all serial (see README). Options that need what
// memdb does not have — expiry, XX, GET — are refused, not ignored.
func (ss *respSession) set(args [][]byte) {
	nx := false
	for _, o := range args[3:] {
		switch opt := strings.ToUpper(string(o)); opt {
		case "NX":
			if nx {
				ss.immediate(resp.AppendError(nil, "ERR syntax error"))
				return
			}
			nx = true
		case "EX", "PX", "EXAT", "PXAT", "KEEPTTL":
			ss.immediate(resp.AppendError(nil, "ERR SET "+opt+" is not supported: memdb keys do not expire"))
			return
		case "XX":
			ss.immediate(resp.AppendError(nil, "ERR SET XX is not supported: memdb can compare-and-set from absence (NX), not from any value"))
			return
		case "GET":
			ss.immediate(resp.AppendError(nil, "ERR SET GET is not supported: read with GET, then SET"))
			return
		default:
			ss.immediate(resp.AppendError(nil, "ERR syntax error"))
			return
		}
	}
	r, proto := ss.pending(), ss.proto
	if nx {
		ss.request(&net.CAS{Key: args[1], New: args[2]}, func(f net.Frame) {
			r.out, r.done = ss.casReply(f.Msg, resp.AppendSimple(nil, "OK"), resp.AppendNull(nil, proto)), true
		})
		return
	}
	r.answer = answerOK
	ss.requestFor(r, &net.Set{Level: ss.level, Key: args[1], Value: args[2]})
}

// setnx is SETNX key value: SET NX answering 1 or 0.
func (ss *respSession) setnx(args [][]byte) {
	r := ss.pending()
	ss.request(&net.CAS{Key: args[1], New: args[2]}, func(f net.Frame) {
		r.out, r.done = ss.casReply(f.Msg, resp.AppendInt(nil, 1), resp.AppendInt(nil, 0)), true
	})
}

func (ss *respSession) casReply(m net.Message, swapped, not []byte) []byte {
	switch m := m.(type) {
	case *net.Bool:
		if m.Value {
			return swapped
		}
		return not
	case *net.Error:
		return nodeError(m)
	}
	return unexpected(m)
}

func (ss *respSession) doneReply(m net.Message, ok []byte) []byte {
	switch m := m.(type) {
	case *net.Done:
		ss.clock = ss.clock.Max(m.Version)
		return ok
	case *net.Error:
		return nodeError(m)
	}
	return unexpected(m)
}

// del is DEL key [key ...]. Redis answers how many keys it deleted; in a
// leaderless store no one place knows that, so memdb reads first: for each
// key, an EXISTS at the connection's level, then the delete, written
// whatever the read found (a replica the read did not ask may hold a
// value). The answer counts the keys that read found live. The keys are
// deleted one by one, not atomically; if any delete fails, the reply is
// its error (the others may have happened).
func (ss *respSession) del(args [][]byte) {
	if ss.level == net.Serial {
		ss.immediate(resp.AppendError(nil, "ERR a delete cannot be serial: MEMDB.CONSISTENCY quorum (or one, all) first, or SET the key to a value your application reads as empty"))
		return
	}
	r := ss.pending()
	keys := args[1:]
	left, count := len(keys), 0
	var fail []byte
	ss.probeKeys(keys, func(key []byte, live bool, e []byte) {
		if e != nil {
			fail = firstErr(fail, e)
			if left--; left == 0 {
				r.out, r.done = fail, true
			}
			return
		}
		if live {
			count++
		}
		// The delete is made after this answer's event, not inside it:
		// the node is answering, and is not to be entered again.
		ss.s.later(func() {
			ss.request(&net.Delete{Level: ss.level, Key: key}, func(f net.Frame) {
				fail = firstErr(fail, nodeError(f.Msg))
				if left--; left == 0 {
					r.out, r.done = countReply(fail, count), true
				}
			})
			ss.flush()
		})
	})
}

// probeKeys asks, for each key, whether it is live at the connection's
// level, and gives then each answer: live, or the error to reply with.
func (ss *respSession) probeKeys(keys [][]byte, then func(key []byte, live bool, fail []byte)) {
	for _, key := range keys {
		ss.request(&net.Contains{Level: ss.level, Key: key}, func(f net.Frame) {
			if m, ok := f.Msg.(*net.Bool); ok {
				then(key, m.Value, nil)
				return
			}
			e := nodeError(f.Msg)
			if e == nil {
				e = unexpected(f.Msg)
			}
			then(key, false, e)
		})
	}
}

// firstErr keeps the first error reply of a multi-key command.
func firstErr(fail, e []byte) []byte {
	if fail != nil {
		return fail
	}
	return e
}

// countReply is a count of keys, or fail if a key's request failed.
func countReply(fail []byte, count int) []byte {
	if fail != nil {
		return fail
	}
	return resp.AppendInt(nil, int64(count))
}

// exists is EXISTS key [key ...]: how many of the keys are live (a key
// named twice counts twice, as in Redis).
func (ss *respSession) exists(args [][]byte) {
	r := ss.pending()
	keys := args[1:]
	left, count := len(keys), 0
	var fail []byte
	ss.probeKeys(keys, func(_ []byte, live bool, e []byte) {
		if live {
			count++
		}
		fail = firstErr(fail, e)
		if left--; left == 0 {
			r.out, r.done = countReply(fail, count), true
		}
	})
}

// mget is MGET key [key ...]: an array of values and nulls; the keys are
// read concurrently, and any failed read makes the reply its error.
func (ss *respSession) mget(args [][]byte) {
	r, proto := ss.pending(), ss.proto
	keys := args[1:]
	parts := make([][]byte, len(keys))
	left := len(keys)
	var fail []byte
	for i, key := range keys {
		ss.request(&net.Get{Level: ss.level, Key: key}, func(f net.Frame) {
			if e := nodeError(f.Msg); e != nil {
				if fail == nil {
					fail = e
				}
			} else {
				parts[i] = ss.valueReply(nil, f.Msg, proto)
			}
			if left--; left > 0 {
				return
			}
			r.done = true
			if fail != nil {
				r.out = fail
				return
			}
			r.out = resp.AppendArray(nil, len(parts))
			for _, p := range parts {
				r.out = append(r.out, p...)
			}
		})
	}
}

// mset is MSET key value [key value ...]: one atomic batch (node/batch.go),
// as Redis's MSET is atomic. A key given twice takes its last value, as in
// Redis. It answers OK once the batch committed; -ABORTED if it certainly
// did not (nothing was written), -UNKNOWN if it may have.
func (ss *respSession) mset(args [][]byte) {
	if len(args)%2 != 1 {
		ss.immediate(resp.AppendError(nil, "ERR wrong number of arguments for 'mset' command"))
		return
	}
	m := &net.Batch{Token: make([]byte, 16)}
	rand.Read(m.Token)
	at := map[string]int{}
	for i := 1; i < len(args); i += 2 {
		if j, ok := at[string(args[i])]; ok {
			m.Writes[j].Value = args[i+1]
			continue
		}
		at[string(args[i])] = len(m.Writes)
		m.Writes = append(m.Writes, net.BatchWrite{Key: args[i], Value: args[i+1]})
	}
	if err := net.CheckBatch(m.Writes); err != nil {
		ss.immediate(resp.AppendError(nil, "ERR "+err.Error()))
		return
	}
	r := ss.pending()
	ss.request(m, func(f net.Frame) {
		r.out, r.done = ss.doneReply(f.Msg, resp.AppendSimple(nil, "OK")), true
	})
}

// refuseMsetnx: MSETNX writes only if no key exists, which a batch cannot
// check (it writes; it does not compare).
func refuseMsetnx(ss *respSession, args [][]byte) {
	ss.immediate(resp.AppendError(nil, "ERR MSETNX is not supported: memdb batches write without conditions; use MSET, or SETNX per key"))
}

func (ss *respSession) ping(args [][]byte) {
	switch len(args) {
	case 1:
		ss.immediate(resp.AppendSimple(nil, "PONG"))
	case 2:
		ss.immediate(resp.AppendBulk(nil, args[1]))
	default:
		ss.immediate(resp.AppendError(nil, "ERR wrong number of arguments for 'ping' command"))
	}
}

func (ss *respSession) echo(args [][]byte) { ss.immediate(resp.AppendBulk(nil, args[1])) }

// hello is HELLO [protover [AUTH username password] [SETNAME name]].
func (ss *respSession) hello(args [][]byte) {
	proto := ss.proto
	if len(args) > 1 {
		v, err := strconv.Atoi(string(args[1]))
		if err != nil {
			ss.immediate(resp.AppendError(nil, "ERR Protocol version is not an integer or out of range"))
			return
		}
		if v != resp.RESP2 && v != resp.RESP3 {
			ss.immediate(resp.AppendError(nil, "NOPROTO unsupported protocol version"))
			return
		}
		proto = v
	}
	authed, name := ss.authed, ss.name
	for i := 2; i < len(args); i++ {
		switch opt := strings.ToUpper(string(args[i])); {
		case opt == "AUTH" && i+2 < len(args):
			if e := ss.checkKey(args[i+2]); e != nil {
				ss.immediate(e)
				return
			}
			authed = true
			i += 2
		case opt == "SETNAME" && i+1 < len(args):
			name = string(args[i+1])
			i++
		default:
			ss.immediate(resp.AppendError(nil, fmt.Sprintf("ERR Syntax error in HELLO option '%s'", args[i])))
			return
		}
	}
	if !authed {
		ss.immediate(resp.AppendError(nil, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"))
		return
	}
	ss.proto, ss.authed, ss.name = proto, authed, name
	b := resp.AppendMap(nil, 7, ss.proto)
	b = resp.AppendBulkString(b, "server")
	b = resp.AppendBulkString(b, "memdb")
	b = resp.AppendBulkString(b, "version")
	b = resp.AppendBulkString(b, respVersion)
	b = resp.AppendBulkString(b, "proto")
	b = resp.AppendInt(b, int64(ss.proto))
	b = resp.AppendBulkString(b, "id")
	b = resp.AppendInt(b, int64(ss.c.id&^respConnBit))
	b = resp.AppendBulkString(b, "mode")
	b = resp.AppendBulkString(b, "standalone")
	b = resp.AppendBulkString(b, "role")
	b = resp.AppendBulkString(b, "master")
	b = resp.AppendBulkString(b, "modules")
	b = resp.AppendArray(b, 0)
	ss.immediate(b)
}

// respVersion is the version HELLO reports: memdb's RESP front door, not
// a Redis version.
const respVersion = "1.0.0"

// checkKey returns nil if key is the client key, else the error to answer.
func (ss *respSession) checkKey(key []byte) []byte {
	want := ss.s.cfg.ClientKey
	if want == "" {
		return resp.AppendError(nil, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
	}
	if subtle.ConstantTimeCompare(key, []byte(want)) != 1 {
		return resp.AppendError(nil, "WRONGPASS invalid username-password pair or user is disabled.")
	}
	return nil
}

// auth is AUTH [username] password; the password is the client key, and
// any username is accepted (memdb has one client key, not users).
func (ss *respSession) auth(args [][]byte) {
	if len(args) > 3 {
		ss.immediate(resp.AppendError(nil, "ERR syntax error"))
		return
	}
	if e := ss.checkKey(args[len(args)-1]); e != nil {
		ss.immediate(e)
		return
	}
	ss.authed = true
	ss.immediate(resp.AppendSimple(nil, "OK"))
}

func (ss *respSession) selectDB(args [][]byte) {
	if string(args[1]) != "0" {
		ss.immediate(resp.AppendError(nil, "ERR DB index is out of range (memdb has one database: SELECT 0)"))
		return
	}
	ss.immediate(resp.AppendSimple(nil, "OK"))
}

// client is CLIENT SETNAME, GETNAME, ID and SETINFO (which clients send
// when they connect; it is accepted and forgotten).
func (ss *respSession) client(args [][]byte) {
	sub := strings.ToUpper(string(args[1]))
	switch {
	case sub == "SETNAME" && len(args) == 3:
		if bytes.ContainsAny(args[2], " \n\r") {
			ss.immediate(resp.AppendError(nil, "ERR Client names cannot contain spaces, newlines or special characters."))
			return
		}
		ss.name = string(args[2])
		ss.immediate(resp.AppendSimple(nil, "OK"))
	case sub == "GETNAME" && len(args) == 2:
		if ss.name == "" {
			ss.immediate(resp.AppendNull(nil, ss.proto))
			return
		}
		ss.immediate(resp.AppendBulkString(nil, ss.name))
	case sub == "ID" && len(args) == 2:
		ss.immediate(resp.AppendInt(nil, int64(ss.c.id&^respConnBit)))
	case sub == "SETINFO" && len(args) == 4:
		ss.immediate(resp.AppendSimple(nil, "OK"))
	default:
		ss.immediate(resp.AppendError(nil, fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for 'client|%s' command (memdb has SETNAME, GETNAME, ID, SETINFO)", strings.ToLower(sub))))
	}
}

// command is COMMAND [COUNT|DOCS|INFO|LIST]: enough for redis-cli, which
// asks for the docs when it starts and does without them.
func (ss *respSession) command(args [][]byte) {
	sub := ""
	if len(args) > 1 {
		sub = strings.ToUpper(string(args[1]))
	}
	switch sub {
	case "", "INFO":
		ss.immediate(resp.AppendArray(nil, 0))
	case "DOCS":
		ss.immediate(resp.AppendMap(nil, 0, ss.proto))
	case "COUNT":
		ss.immediate(resp.AppendInt(nil, int64(len(respCommands)/2)))
	case "LIST":
		names := make([]string, 0, len(respCommands)/2)
		for name := range respCommands {
			if name == strings.ToLower(name) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		b := resp.AppendArray(nil, len(names))
		for _, n := range names {
			b = resp.AppendBulkString(b, n)
		}
		ss.immediate(b)
	default:
		ss.immediate(resp.AppendError(nil, fmt.Sprintf("ERR unknown subcommand '%s'. Try COMMAND HELP.", args[1])))
	}
}

// config is CONFIG GET, which answers nothing (an empty map, as Redis does
// for a parameter it does not have): redis-benchmark asks for save and
// appendonly when it starts.
func (ss *respSession) config(args [][]byte) {
	if strings.ToUpper(string(args[1])) != "GET" {
		ss.immediate(resp.AppendError(nil, "ERR memdb has no CONFIG but CONFIG GET, which answers nothing: configure memdbd with flags, MEMDB_* variables or its file"))
		return
	}
	ss.immediate(resp.AppendMap(nil, 0, ss.proto))
}

func (ss *respSession) quit(args [][]byte) {
	ss.immediate(resp.AppendSimple(nil, "OK"))
	ss.ending = true
}

// consistency is MEMDB.CONSISTENCY [one|quorum|all|serial]: with a level,
// the connection's reads and writes use it from then on; without, it
// answers the level in force. The default is the node's (quorum).
func (ss *respSession) consistency(args [][]byte) {
	switch len(args) {
	case 1:
		level := ss.level
		if level == net.Default {
			level = net.Quorum
		}
		ss.immediate(resp.AppendBulkString(nil, level.String()))
	case 2:
		level, err := net.ParseConsistency(strings.ToLower(string(args[1])))
		if err != nil {
			ss.immediate(resp.AppendError(nil, "ERR "+err.Error()))
			return
		}
		ss.level = level
		ss.immediate(resp.AppendSimple(nil, "OK"))
	default:
		ss.immediate(resp.AppendError(nil, "ERR wrong number of arguments for 'memdb.consistency' command"))
	}
}
