package resp

import (
	"strconv"
	"strings"
)

// Protocol versions a connection speaks: RESP2 until HELLO 3.
const (
	RESP2 = 2
	RESP3 = 3
)

// The Append functions append one reply to b and return the extended
// buffer. Those whose encoding differs between the versions take proto.

// AppendSimple appends a simple string (+OK). s must hold no CR or LF.
func AppendSimple(b []byte, s string) []byte {
	b = append(b, '+')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendError appends an error. msg starts with the error's code word
// (ERR, NOAUTH, WRONGPASS...), as Redis clients expect; CR and LF in it
// are replaced by spaces, since an error is one line.
func AppendError(b []byte, msg string) []byte {
	b = append(b, '-')
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.NewReplacer("\r", " ", "\n", " ").Replace(msg)
	}
	b = append(b, msg...)
	return append(b, '\r', '\n')
}

// AppendInt appends an integer.
func AppendInt(b []byte, n int64) []byte {
	b = append(b, ':')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendBulk appends a bulk string.
func AppendBulk(b []byte, v []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, '\r', '\n')
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// AppendBulkString appends a bulk string.
func AppendBulkString(b []byte, s string) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendNull appends a null: RESP3's `_`, RESP2's null bulk string.
func AppendNull(b []byte, proto int) []byte {
	if proto >= RESP3 {
		return append(b, '_', '\r', '\n')
	}
	return append(b, '$', '-', '1', '\r', '\n')
}

// AppendArray appends the header of an array of n elements; the caller
// appends the elements.
func AppendArray(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// AppendMap appends the header of a map of n pairs: RESP3's `%`, or in
// RESP2 an array of 2n elements. The caller appends key, value, key...
func AppendMap(b []byte, n int, proto int) []byte {
	if proto >= RESP3 {
		b = append(b, '%')
		b = strconv.AppendInt(b, int64(n), 10)
		return append(b, '\r', '\n')
	}
	return AppendArray(b, 2*n)
}
