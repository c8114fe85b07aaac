package resp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string // nil with n 0: ErrShort or an error
		n    int
		err  string // substring of a protocol error
	}{
		{name: "array", in: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", want: []string{"GET", "k"}, n: 20},
		{name: "array then more", in: "*1\r\n$4\r\nPING\r\n*1\r\n", want: []string{"PING"}, n: 14},
		{name: "empty bulk", in: "*2\r\n$3\r\nGET\r\n$0\r\n\r\n", want: []string{"GET", ""}, n: 19},
		{name: "binary bulk", in: "*1\r\n$4\r\na\r\nb\r\n", want: []string{"a\r\nb"}, n: 14},
		{name: "empty array", in: "*0\r\n", want: nil, n: 4},
		{name: "null array", in: "*-1\r\n", want: nil, n: 5},
		{name: "inline", in: "PING\r\n", want: []string{"PING"}, n: 6},
		{name: "inline words", in: "SET  a\tb\n", want: []string{"SET", "a", "b"}, n: 9},
		{name: "inline empty line", in: "\r\n", want: nil, n: 2},
		{name: "short header", in: "*2\r"},
		{name: "short count", in: "*2"},
		{name: "short star", in: "*"},
		{name: "short bulk header", in: "*2\r\n$3\r\nGET\r\n$1"},
		{name: "short bulk", in: "*2\r\n$3\r\nGET\r\n$1\r\nk\r"},
		{name: "short args", in: "*2\r\n$3\r\nGET\r\n"},
		{name: "short inline", in: "PIN"},
		{name: "not a bulk", in: "*1\r\n:1\r\n", err: "expected '$', got ':'"},
		{name: "bad count", in: "*x\r\n", err: "invalid multibulk length"},
		{name: "count without CRLF", in: "*1\n$1\r\nk\r\n", err: "invalid multibulk length"},
		{name: "count too long", in: "*1234567890123\r\n", err: "invalid multibulk length"},
		{name: "too many args", in: fmt.Sprintf("*%d\r\n", MaxArgs+1), err: "invalid multibulk length"},
		{name: "bulk too large", in: fmt.Sprintf("*1\r\n$%d\r\n", MaxBulk+1), err: "invalid bulk length"},
		{name: "bulk largest", in: fmt.Sprintf("*1\r\n$%d\r\n", MaxBulk)},
		{name: "negative bulk", in: "*1\r\n$-1\r\n", err: "invalid bulk length"},
		{name: "bulk without CRLF", in: "*1\r\n$1\r\nkX\n", err: "not followed by CRLF"},
		{name: "inline too long", in: strings.Repeat("a", MaxInline+1), err: "too big inline request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, n, err := Parse([]byte(tc.in), nil)
			switch {
			case tc.err != "":
				var pe *ProtocolError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) error %v, want a protocol error containing %q", tc.in, err, tc.err)
				}
			case tc.n == 0:
				if !errors.Is(err, ErrShort) {
					t.Fatalf("Parse(%q) = %q, %d, %v; want ErrShort", tc.in, args, n, err)
				}
			default:
				if err != nil || n != tc.n {
					t.Fatalf("Parse(%q) = %d, %v; want %d, nil", tc.in, n, err, tc.n)
				}
				if diff := cmp.Diff(tc.want, strs(args)); diff != "" {
					t.Errorf("Parse(%q) args (-want +got):\n%s", tc.in, diff)
				}
			}
		})
	}
}

// TestParseTooLargeCommand: the total size of one command is bounded, not
// only each argument.
func TestParseTooLargeCommand(t *testing.T) {
	var b []byte
	b = fmt.Appendf(b, "*%d\r\n", MaxCommand/MaxBulk+1)
	for range MaxCommand / MaxBulk {
		b = fmt.Appendf(b, "$%d\r\n", MaxBulk)
		b = append(b, make([]byte, MaxBulk)...)
		b = append(b, "\r\n"...)
	}
	b = fmt.Appendf(b, "$%d\r\n", MaxBulk)
	if _, _, err := Parse(b, nil); err == nil || !strings.Contains(err.Error(), "command larger than") {
		t.Fatalf("a command over %d bytes: error %v, want one saying it is too large", MaxCommand, err)
	}
}

// TestParseEveryPrefix: every proper prefix of a valid pipeline is
// ErrShort or a whole command, never an error.
func TestParseEveryPrefix(t *testing.T) {
	in := []byte("*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n")
	for i := range len(in) {
		b := in[:i]
		for len(b) > 0 {
			_, n, err := Parse(b, nil)
			if errors.Is(err, ErrShort) {
				break
			}
			if err != nil {
				t.Fatalf("prefix %q: %v", in[:i], err)
			}
			b = b[n:]
		}
	}
}

func strs(args [][]byte) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"simple", AppendSimple(nil, "OK"), "+OK\r\n"},
		{"error", AppendError(nil, "ERR bad\r\nthing"), "-ERR bad  thing\r\n"},
		{"int", AppendInt(nil, -42), ":-42\r\n"},
		{"bulk", AppendBulk(nil, []byte("a\r\nb")), "$4\r\na\r\nb\r\n"},
		{"empty bulk", AppendBulk(nil, nil), "$0\r\n\r\n"},
		{"bulk string", AppendBulkString(nil, "hi"), "$2\r\nhi\r\n"},
		{"null resp2", AppendNull(nil, RESP2), "$-1\r\n"},
		{"null resp3", AppendNull(nil, RESP3), "_\r\n"},
		{"array", AppendArray(nil, 3), "*3\r\n"},
		{"map resp2", AppendMap(nil, 2, RESP2), "*4\r\n"},
		{"map resp3", AppendMap(nil, 2, RESP3), "%2\r\n"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// FuzzParse: Parse never panics, never reads past its input, and what it
// accepts is consistent: re-encoding the arguments as an array parses back
// to the same arguments.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "*1\r\n$4\r\nPING\r\n", "PING\r\n", "SET a b\n", "\r\n",
		"*0\r\n", "*-1\r\n", "*1\r\n$-1\r\n", "*1\r\n:1\r\n", "*x\r\n", "*2\r", "*1\r\n$1\r\nkX\n",
		"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$2\r\n\r\n\r\n", "*1\r\n$99999999999999\r\n", "*-\r\n", "$3\r\nGET\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		args, n, err := Parse(in, nil)
		if err != nil {
			return
		}
		if n <= 0 || n > len(in) {
			t.Fatalf("Parse(%q) took %d bytes of %d", in, n, len(in))
		}
		var b []byte
		b = AppendArray(b, len(args))
		for _, a := range args {
			b = AppendBulk(b, a)
		}
		again, m, err := Parse(b, nil)
		if len(args) == 0 {
			return
		}
		if err != nil || m != len(b) || !bytes.Equal(bytes.Join(again, []byte{0}), bytes.Join(args, []byte{0})) || len(again) != len(args) {
			t.Fatalf("Parse(%q) = %q; its re-encoding %q parses to %q, %d, %v", in, args, b, again, m, err)
		}
	})
}
