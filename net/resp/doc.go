// Package resp is the Redis serialization protocol as memdb's RESP front
// door speaks it: a parser of client commands and the writers of replies,
// in RESP2 and RESP3. It is pure (no sockets, no goroutines): the host
// reads and writes the bytes.
//
// A command is an array of bulk strings, which is what every Redis client
// sends:
//
//	*<count>\r\n  then <count> times  $<length>\r\n<bytes>\r\n
//
// or an inline command, one line of words separated by spaces, which is
// what a person typing into telnet sends (`PING\r\n`); an empty line is
// skipped, as Redis does.
//
// Replies use the RESP2 types (simple string `+`, error `-`, integer `:`,
// bulk string `$`, array `*`) and, once a connection has switched with
// HELLO 3, RESP3's null `_` and map `%`; a writer given protocol 2 writes
// a null as `$-1` and a map as a flat array of keys and values, as Redis
// does.
//
// Limits, checked before anything is allocated for them, so that a client
// cannot make the server buffer more than it could send: a bulk string of
// at most MaxBulk bytes (the store's 8 MiB value limit), an array of at
// most MaxArgs elements, at most MaxCommand bytes in one command, an inline
// line of at most MaxInline bytes. Anything past them, or not RESP at all,
// is a *ProtocolError: the host answers it with an error and closes the
// connection, as Redis does with "Protocol error".
package resp
