package resp

import (
	"bytes"
	"errors"
	"fmt"
)

// Limits of one command (see the package doc).
const (
	MaxBulk    = 8 << 20  // bytes in one argument: the store's value limit
	MaxArgs    = 1 << 20  // arguments in one command
	MaxCommand = 64 << 20 // bytes in one command, headers included
	MaxInline  = 64 << 10 // bytes in one inline command line
)

// ErrShort means the buffer holds only part of a command: read more.
var ErrShort = errors.New("resp: incomplete command")

// ProtocolError is input that is not a valid command. The connection
// cannot go on after it: where the next command starts is unknown.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

func protoErr(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// Parse parses the command at the start of b. It appends the command's
// arguments to args (which may be nil) and returns them with the number of
// bytes the command took. The arguments alias b. An empty inline line
// gives no arguments and a positive n: skip it. On ErrShort, wait for more
// bytes and parse again from the same start; any other error is a
// *ProtocolError.
func Parse(b []byte, args [][]byte) ([][]byte, int, error) {
	if len(b) == 0 {
		return args, 0, ErrShort
	}
	if b[0] != '*' {
		return parseInline(b, args)
	}
	count, off, err := parseLen(b, 0, '*')
	if err != nil {
		return args, 0, err
	}
	switch {
	case count > MaxArgs:
		return args, 0, protoErr("invalid multibulk length")
	case count <= 0:
		// *0 and *-1 are empty commands; Redis skips them too.
		return args, off, nil
	}
	for range count {
		if off >= len(b) {
			return args, 0, ErrShort
		}
		if b[off] != '$' {
			return args, 0, protoErr("expected '$', got '%c'", b[off])
		}
		n, start, err := parseLen(b, off, '$')
		if err != nil {
			return args, 0, err
		}
		if n < 0 || n > MaxBulk {
			return args, 0, protoErr("invalid bulk length")
		}
		if start+n > MaxCommand {
			return args, 0, protoErr("command larger than %d bytes", MaxCommand)
		}
		if start+n+2 > len(b) {
			return args, 0, ErrShort
		}
		if b[start+n] != '\r' || b[start+n+1] != '\n' {
			return args, 0, protoErr("bulk string not followed by CRLF")
		}
		args = append(args, b[start:start+n])
		off = start + n + 2
	}
	return args, off, nil
}

// parseLen parses the length line that starts at b[off] with the byte
// prefix: "<prefix><decimal>\r\n". It returns the length and the offset
// just past the line.
func parseLen(b []byte, off int, prefix byte) (int, int, error) {
	const maxDigits = 12
	bad := func() error {
		if prefix == '*' {
			return protoErr("invalid multibulk length")
		}
		return protoErr("invalid bulk length")
	}
	i := off + 1
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	n, digits := 0, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if digits == maxDigits {
			return 0, 0, bad()
		}
		n = n*10 + int(b[i]-'0')
		digits++
	}
	switch {
	case i == len(b):
		return 0, 0, ErrShort
	case digits == 0 || b[i] != '\r':
		return 0, 0, bad()
	case i+1 == len(b):
		return 0, 0, ErrShort
	case b[i+1] != '\n':
		return 0, 0, bad()
	}
	if neg {
		n = -n
	}
	return n, i + 2, nil
}

// parseInline parses a line of space-separated words, ended by \n (a \r
// before it is dropped). Quoting is not supported: clients send arrays.
func parseInline(b []byte, args [][]byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		if len(b) > MaxInline {
			return args, 0, protoErr("too big inline request")
		}
		return args, 0, ErrShort
	}
	if nl > MaxInline {
		return args, 0, protoErr("too big inline request")
	}
	line := b[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	for len(line) > 0 {
		i := bytes.IndexAny(line, " \t")
		if i < 0 {
			args = append(args, line)
			break
		}
		if i > 0 {
			args = append(args, line[:i])
		}
		line = line[i+1:]
	}
	return args, nl + 1, nil
}
