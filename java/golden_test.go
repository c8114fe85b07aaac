package java

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	farm "github.com/dgryski/go-farm"
	"github.com/google/go-cmp/cmp"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/golden.txt from the Go code")

const goldenPath = "testdata/golden.txt"

// Fixed handshake inputs, the same in CodecTest.java.
var (
	goldenKey = []byte("secret")
	nonceS    = seq(0, net.NonceSize)
	nonceC    = seq(16, net.NonceSize)
)

func seq(from, n int) (b [net.NonceSize]byte) {
	for i := range n {
		b[i] = byte(from + i)
	}
	return b
}

// goldenRing is a ring of three virtual members (256 tokens each) and one
// with explicit tokens, at epoch 3: both member kinds of the encoding.
func goldenRing(t *testing.T) ring.Ring {
	members := append(ring.Virtual([]uint16{1, 2, 3}, ring.DefaultVnodes),
		ring.Member{ID: 9, Tokens: []uint64{0, 6148914691236517205, 1 << 63}})
	r, err := ring.New(3, members)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// goldenFrames are the frames CodecTest.java encodes (requests) or decodes
// (answers) by name; each side builds the same message from its own code.
func goldenFrames(t *testing.T) []struct {
	name string
	f    net.Frame
} {
	r := goldenRing(t)
	return []struct {
		name string
		f    net.Frame
	}{
		{"challenge", net.Frame{Clock: clock.Timestamp{Counter: 5, Node: 7}, Msg: &net.Challenge{Version: 1, Node: 7, Nonce: nonceS}}},
		{"auth", net.Frame{ID: 1, Msg: &net.Auth{Role: net.RoleClient, Nonce: nonceC, MAC: net.ClientProof(goldenKey, net.RoleClient, 0, nonceS, nonceC)}}},
		{"auth-ok", net.Frame{ID: 1, Clock: clock.Timestamp{Counter: 6, Node: 7}, Msg: &net.AuthOK{MAC: net.ServerProof(goldenKey, net.RoleClient, 0, nonceS, nonceC)}}},
		{"get", net.Frame{ID: 2, Clock: clock.Timestamp{Counter: 9, Node: 3}, Msg: &net.Get{Level: net.Quorum, Key: []byte("key1")}}},
		{"get-default", net.Frame{ID: 1 << 40, Msg: &net.Get{Level: net.Default, Key: []byte("k")}}},
		{"set", net.Frame{ID: 3, Clock: clock.Timestamp{Counter: 1<<40 + 1, Node: 65535}, Msg: &net.Set{Level: net.One, Key: []byte("key1"), Value: []byte("value1")}}},
		{"set-empty", net.Frame{ID: 4, Msg: &net.Set{Level: net.All, Key: []byte("ключ"), Value: []byte{}}}},
		{"delete", net.Frame{ID: 5, Clock: clock.Timestamp{Counter: 10, Node: 1}, Msg: &net.Delete{Level: net.Quorum, Key: []byte("key1")}}},
		{"contains", net.Frame{ID: 6, Msg: &net.Contains{Level: net.Serial, Key: []byte("key1")}}},
		{"cas-absent", net.Frame{ID: 7, Msg: &net.CAS{Key: []byte("locked"), New: []byte("true")}}},
		{"cas", net.Frame{ID: 8, Clock: clock.Timestamp{Counter: 11, Node: 2}, Msg: &net.CAS{Key: []byte("locked"), OldFound: true, Old: []byte("false"), New: []byte("true")}}},
		{"ring", net.Frame{ID: 9, Msg: &net.Ring{}}},
		{"value", net.Frame{ID: 2, Clock: clock.Timestamp{Counter: 12, Node: 2}, Msg: &net.Value{Found: true, Version: clock.Timestamp{Counter: 12, Node: 2}, Value: []byte("value1")}}},
		{"value-absent", net.Frame{ID: 2, Msg: &net.Value{}}},
		{"value-tombstone", net.Frame{ID: 2, Clock: clock.Timestamp{Counter: 14, Node: 1}, Msg: &net.Value{Version: clock.Timestamp{Counter: 13, Node: 3}}}},
		{"done", net.Frame{ID: 3, Clock: clock.Timestamp{Counter: 15, Node: 1}, Msg: &net.Done{Version: clock.Timestamp{Counter: 14, Node: 1}}}},
		{"bool-true", net.Frame{ID: 6, Msg: &net.Bool{Value: true}}},
		{"bool-false", net.Frame{ID: 7, Msg: &net.Bool{}}},
		{"tls-preamble", net.Frame{Msg: &net.Error{Code: net.CodeAuth, Message: net.TLSRequired}}},
		{"error", net.Frame{ID: 5, Msg: &net.Error{Code: net.CodeUnavailable, Message: "quorum not reached: 1 of 2 replicas answered"}}},
		{"error-utf8", net.Frame{ID: 8, Msg: &net.Error{Code: net.CodeContention, Message: "contention — lost to other proposers"}}},
		{"incr", net.Frame{ID: 10, Clock: clock.Timestamp{Counter: 17, Node: 2}, Msg: &net.Incr{Level: net.Quorum, Key: []byte("counter"), Delta: 1,
			Session: 0x0123456789abcdef, Seq: 1}}},
		{"incr-retry", net.Frame{ID: 11, Msg: &net.Incr{Level: net.All, Key: []byte("counter"), Delta: -1 << 40,
			Session: 0xfedcba9876543210, Seq: 1<<63 + 5, Attempt: 3, First: clock.Timestamp{Counter: 1500, Node: 7}}}},
		{"get-counter", net.Frame{ID: 12, Msg: &net.GetCounter{Level: net.Quorum, Key: []byte("counter")}}},
		{"batch", net.Frame{ID: 13, Clock: clock.Timestamp{Counter: 19, Node: 2}, Msg: &net.Batch{Token: []byte("0123456789abcdef"),
			Writes: []net.BatchWrite{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Deleted: true}, {Key: []byte("c"), Value: []byte{}}}}}},
		{"counter-value", net.Frame{ID: 10, Clock: clock.Timestamp{Counter: 18, Node: 1}, Msg: &net.CounterValue{Value: 42}}},
		{"counter-value-negative", net.Frame{ID: 12, Msg: &net.CounterValue{Value: -1 << 63}}},
		{"error-wrong-kind", net.Frame{ID: 10, Msg: &net.Error{Code: net.CodeWrongKind, Message: "the key holds a value, not a counter"}}},
		{"ring-info", net.Frame{ID: 9, Clock: clock.Timestamp{Counter: 16, Node: 2}, Msg: &net.RingInfo{Replicas: 3, Ring: r.Encode(), Addrs: []net.NodeAddr{
			{Node: 1, Addr: "127.0.0.1:7400"}, {Node: 2, Addr: "127.0.0.1:7410"}, {Node: 3, Addr: "127.0.0.1:7420"}, {Node: 9, Addr: "[::1]:7490"}}}}},
	}
}

// farmInputs are the inputs whose Fingerprint64 the Java port must match:
// every length up to 300 (each code path of naHash64 and its edges), then
// longer random ones.
func farmInputs() [][]byte {
	var in [][]byte
	for n := 0; n <= 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*31 + n*7 + 3)
		}
		in = append(in, b)
	}
	rng := rand.New(rand.NewPCG(16, 16))
	for range 40 {
		b := make([]byte, rng.IntN(1500))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		in = append(in, b)
	}
	for _, s := range []string{"key1", "locked", "counter", "1/0", "65535/4095", "ключ"} {
		in = append(in, []byte(s))
	}
	return in
}

// goldenConst is one protocol constant, named as in package net.
type goldenConst struct {
	name  string
	value uint64
}

// goldenConsts are the protocol's constants, which the Java client repeats
// (Codec.java) and CodecTest checks against these: the version, the limits,
// every message kind and every error code. TestGoldenConstsComplete fails
// when a kind or code named by net is missing here.
func goldenConsts() []goldenConst {
	return []goldenConst{
		{"Version", net.Version},
		{"HeaderSize", net.HeaderSize},
		{"MaxKey", net.MaxKey},
		{"MaxValue", net.MaxValue},
		{"MaxFrame", net.MaxFrame},
		{"NonceSize", net.NonceSize},
		{"MACSize", net.MACSize},
		{"MaxAttempts", net.MaxAttempts},
		{"MaxBatchKeys", net.MaxBatchKeys},
		{"MaxBatchBytes", net.MaxBatchBytes},

		{"KindChallenge", uint64(net.KindChallenge)},
		{"KindAuth", uint64(net.KindAuth)},
		{"KindAuthOK", uint64(net.KindAuthOK)},
		{"KindGet", uint64(net.KindGet)},
		{"KindSet", uint64(net.KindSet)},
		{"KindDelete", uint64(net.KindDelete)},
		{"KindContains", uint64(net.KindContains)},
		{"KindCAS", uint64(net.KindCAS)},
		{"KindIncr", uint64(net.KindIncr)},
		{"KindGetCounter", uint64(net.KindGetCounter)},
		{"KindBatch", uint64(net.KindBatch)},
		{"KindCompact", uint64(net.KindCompact)},
		{"KindRing", uint64(net.KindRing)},
		{"KindValue", uint64(net.KindValue)},
		{"KindDone", uint64(net.KindDone)},
		{"KindBool", uint64(net.KindBool)},
		{"KindError", uint64(net.KindError)},
		{"KindRingInfo", uint64(net.KindRingInfo)},
		{"KindCounterValue", uint64(net.KindCounterValue)},
		{"KindGossip", uint64(net.KindGossip)},
		{"KindReplicate", uint64(net.KindReplicate)},
		{"KindRead", uint64(net.KindRead)},
		{"KindSync", uint64(net.KindSync)},
		{"KindSyncBatch", uint64(net.KindSyncBatch)},
		{"KindPrepare", uint64(net.KindPrepare)},
		{"KindPromise", uint64(net.KindPromise)},
		{"KindPropose", uint64(net.KindPropose)},
		{"KindAccepted", uint64(net.KindAccepted)},
		{"KindPeek", uint64(net.KindPeek)},
		{"KindAcceptorState", uint64(net.KindAcceptorState)},
		{"KindDigest", uint64(net.KindDigest)},
		{"KindDigestReply", uint64(net.KindDigestReply)},
		{"KindPaxosKeys", uint64(net.KindPaxosKeys)},
		{"KindPaxosKeysReply", uint64(net.KindPaxosKeysReply)},
		{"KindTake", uint64(net.KindTake)},
		{"KindState", uint64(net.KindState)},
		{"KindDigestBefore", uint64(net.KindDigestBefore)},
		{"KindHolds", uint64(net.KindHolds)},
		{"KindInfo", uint64(net.KindInfo)},
		{"KindInfoReply", uint64(net.KindInfoReply)},

		{"CodeMalformed", uint64(net.CodeMalformed)},
		{"CodeTooLarge", uint64(net.CodeTooLarge)},
		{"CodeBadKey", uint64(net.CodeBadKey)},
		{"CodeAuth", uint64(net.CodeAuth)},
		{"CodeUnknownKind", uint64(net.CodeUnknownKind)},
		{"CodeUnavailable", uint64(net.CodeUnavailable)},
		{"CodeUnknownOutcome", uint64(net.CodeUnknownOutcome)},
		{"CodeInternal", uint64(net.CodeInternal)},
		{"CodeUnsupported", uint64(net.CodeUnsupported)},
		{"CodeShuttingDown", uint64(net.CodeShuttingDown)},
		{"CodeContention", uint64(net.CodeContention)},
		{"CodeStaleRing", uint64(net.CodeStaleRing)},
		{"CodeWrongKind", uint64(net.CodeWrongKind)},
		{"CodeOverflow", uint64(net.CodeOverflow)},
		{"CodeAborted", uint64(net.CodeAborted)},
		{"CodeStaleStamp", uint64(net.CodeStaleStamp)},
	}
}

// golden renders the whole file.
func golden(t *testing.T) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by `go test ./java -rewrite` from the Go codec, node/ring and go-farm.\n")
	b.WriteString("# Read by the Java tests (java/src/test). Do not edit by hand.\n")
	b.WriteString("# const NAME VALUE | frame NAME HEX | farm INPUT-HEX FINGERPRINT-HEX | ring HEX | replicas KEY-HEX RF IDS\n")
	for _, c := range goldenConsts() {
		fmt.Fprintf(&b, "const %s %d\n", c.name, c.value)
	}
	for _, g := range goldenFrames(t) {
		fmt.Fprintf(&b, "frame %s %s\n", g.name, hex.EncodeToString(net.Encode(g.f)))
	}
	for _, in := range farmInputs() {
		fmt.Fprintf(&b, "farm %s %016x\n", hexOrDash(in), farm.Fingerprint64(in))
	}
	r := goldenRing(t)
	fmt.Fprintf(&b, "ring %s\n", hex.EncodeToString(r.Encode()))
	for i := range 64 {
		key := []byte(fmt.Sprintf("key%d", i))
		for _, rf := range []int{1, 3, 5} {
			var ids []string
			for _, id := range r.Replicas(key, rf) {
				ids = append(ids, fmt.Sprint(id))
			}
			fmt.Fprintf(&b, "replicas %s %d %s\n", hex.EncodeToString(key), rf, strings.Join(ids, ","))
		}
	}
	return b.Bytes()
}

// hexOrDash writes the empty input as "-", so every line has its fields.
func hexOrDash(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

// TestGolden checks that testdata/golden.txt is what the Go code writes
// now; with -rewrite it writes it.
func TestGolden(t *testing.T) {
	got := golden(t)
	if *rewrite {
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (go test ./java -rewrite writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: the Go codec, ring or hash changed; run go test ./java -rewrite, then make java-test (-file +Go now):\n%s",
			goldenPath, cmp.Diff(string(want), string(got)))
	}
}

// TestGoldenDecodes checks that every golden frame decodes back to itself,
// so the file holds only frames a Go node accepts or sends.
func TestGoldenDecodes(t *testing.T) {
	for _, g := range goldenFrames(t) {
		b := net.Encode(g.f)
		f, n, err := net.Decode(b)
		if err != nil || n != len(b) {
			t.Fatalf("%s: decode: n=%d of %d, %v", g.name, n, len(b), err)
		}
		if got := net.Encode(f); !bytes.Equal(got, b) {
			t.Errorf("%s: re-encoded differently:\n got %x\nwant %x", g.name, got, b)
		}
	}
}

// TestGoldenConstsComplete checks that goldenConsts names every message
// kind and error code net knows (those with a name of their own), so a new
// one reaches the golden file and CodecTest.
func TestGoldenConstsComplete(t *testing.T) {
	listed := map[string]bool{}
	for _, c := range goldenConsts() {
		listed[fmt.Sprintf("%s/%d", c.name[:4], c.value)] = true
	}
	for k := range 256 {
		kind := net.Kind(k)
		if kind.String() != fmt.Sprintf("kind(%d)", k) && !listed[fmt.Sprintf("Kind/%d", k)] {
			t.Errorf("kind %d (%s) is missing from goldenConsts", k, kind)
		}
	}
	for c := range 1 << 16 {
		code := net.Code(c)
		if code.String() != fmt.Sprintf("code(%d)", c) && !listed[fmt.Sprintf("Code/%d", c)] {
			t.Errorf("error code %d (%s) is missing from goldenConsts", c, code)
		}
	}
}
