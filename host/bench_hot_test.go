package host

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	stdnet "net"
	"strconv"
	"testing"

	"github.com/memdb/memdb/net"
)

// The single-node hot path (issue 17 item 3), in process: one node, rf 1,
// fsync none, one connection that writes depth requests at a time and
// reads their replies, with clients that allocate nothing per request, so
// allocs/op is the server's own per request (testing counts the whole
// process's). ns/op is wall time per request on one connection, which the
// machine's load moves; allocs/op does not move with it.
//
//	go test -run XXX -bench HotPath -benchmem ./host/

func BenchmarkHotPath(b *testing.B) {
	for _, proto := range []string{"binary", "resp"} {
		for _, op := range []string{"set", "get"} {
			for _, depth := range []int{1, 16} {
				b.Run(fmt.Sprintf("%s/%s/P%d", proto, op, depth), func(b *testing.B) {
					cfg := DefaultConfig()
					cfg.Listen, cfg.HTTP, cfg.RESP = "127.0.0.1:0", "", "127.0.0.1:0"
					cfg.DataDir, cfg.ReplicationFactor, cfg.Fsync = b.TempDir(), 1, "none"
					s, err := Start(cfg, nil)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					if proto == "binary" {
						benchBinary(b, s.Addr(), op, depth)
					} else {
						benchRESP(b, s.RESPAddr(), op, depth)
					}
				})
			}
		}
	}
}

// hotKeys is the keyspace, as -r 100000 in bench/compare.sh.
const hotKeys = 100000

func hotKey(b []byte, i int) []byte {
	b = append(b, "key:"...)
	return strconv.AppendInt(b, int64(i%hotKeys), 10)
}

func benchRESP(b *testing.B, addr, op string, depth int) {
	nc, err := stdnet.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReaderSize(nc, 64<<10)
	value := bytes.Repeat([]byte("v"), 100)
	var req []byte
	var key [32]byte
	send := func(op string, from, n int) {
		req = req[:0]
		for i := from; i < from+n; i++ {
			k := hotKey(key[:0], i)
			if op == "set" {
				req = append(req, "*3\r\n$3\r\nSET\r\n"...)
			} else {
				req = append(req, "*2\r\n$3\r\nGET\r\n"...)
			}
			req = appendBulk(req, k)
			if op == "set" {
				req = appendBulk(req, value)
			}
		}
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
	}
	// A reply is one line (+OK, $-1) or a bulk header line and its data.
	recv := func(n int) {
		for range n {
			line, err := r.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if line[0] == '$' && line[1] != '-' {
				size, _ := strconv.Atoi(string(line[1 : len(line)-2]))
				if _, err := r.Discard(size + 2); err != nil {
					b.Fatal(err)
				}
			} else if line[0] == '-' {
				b.Fatalf("error reply %q", line)
			}
		}
	}
	runHot(b, op, depth, send, recv)
}

// runHot loads the keys a GET test reads, then times b.N requests of op
// sent depth at a time: send(op, from, n) sends n requests for keys from
// on, recv(n) reads n replies.
func runHot(b *testing.B, op string, depth int, send func(op string, from, n int), recv func(n int)) {
	if op == "get" {
		for i := 0; i < hotKeys; i += 100 {
			send("set", i, 100)
			recv(100)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		n := min(depth, b.N-i)
		send(op, i, n)
		recv(n)
	}
}

func appendBulk(b, v []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, "\r\n"...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

func benchBinary(b *testing.B, addr, op string, depth int) {
	nc, err := stdnet.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	var in []byte
	buf := make([]byte, 64<<10)
	// recv reads until n frames have arrived, and forgets them.
	recv := func(n int) {
		for n > 0 {
			for n > 0 {
				size, err := net.FrameLen(in)
				if err != nil || len(in) < size {
					break
				}
				in = in[:copy(in, in[size:])]
				n--
			}
			if n == 0 {
				return
			}
			m, err := nc.Read(buf)
			if err != nil && err != io.EOF || m == 0 {
				b.Fatal(err)
			}
			in = append(in, buf[:m]...)
		}
	}
	recv(1) // the challenge
	if _, err := nc.Write(net.AppendFrame(nil, net.Frame{ID: 1, Msg: &net.Auth{Role: net.RoleClient}})); err != nil {
		b.Fatal(err)
	}
	recv(1) // AuthOK
	value := bytes.Repeat([]byte("v"), 100)
	var req []byte
	var key [32]byte
	set, get := &net.Set{Value: value, Level: net.One}, &net.Get{Level: net.One}
	var msg net.Message = set
	send := func(op string, from, n int) {
		req = req[:0]
		for i := from; i < from+n; i++ {
			k := hotKey(key[:0], i)
			if op == "set" {
				set.Key, msg = k, set
			} else {
				get.Key, msg = k, get
			}
			req = net.AppendFrame(req, net.Frame{ID: uint64(i + 2), Msg: msg})
		}
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
	}
	runHot(b, op, depth, send, recv)
}
