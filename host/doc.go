// Package host is the live host: it runs one memdb node over real TCP, real
// time and real files, as memdbd does.
//
// The node is single-threaded, so the host runs it under one lock, and
// turns everything into events that run under that lock one at a time.
// A connection's reader runs what one read brought (every frame or RESP
// command) as one event on its own goroutine (Server.run), and writes the
// replies the node gave at once in one write, itself (net.Writer's Hold
// and Flush): a request costs no hand-off between goroutines. Everything
// else is posted to the loop, a goroutine that runs each posted event
// under the lock: timer callbacks (timers.go), disk completions (the
// disk's sync goroutine posts them) and admin queries. Replies the node
// gives later leave through each connection's writer goroutine, which
// coalesces whatever was queued since its last write into one write.
//
// Messages to other nodes leave through a net.Peers: one outbound
// connection per peer address, dialed on demand with the cluster key,
// never blocking the loop. Frames that arrive from peers — on the
// connections they dialed to us, or as answers on ours to them — are posted
// to the loop and handed to node.Deliver. The listener is bound before the
// node is built, so the node advertises the address it really listens on.
//
// With -resp, the host also serves the Redis protocol on its own port
// (resp.go, respcmd.go): a reader per connection parses RESP commands
// (net/resp) and posts them to the loop, where each becomes the same
// client request the binary protocol makes — the node coordinates it
// unchanged and replies through the transport, which hands answers for
// RESP connections (ids with respConnBit set) back to their session, so
// replies leave in command order. README.md documents each command.
//
// With -tls-cert the binary and RESP ports serve TLS only, and Peers dials
// over TLS with the same certificate (tls.go; the protocol's side is in
// net/tls.go). The admin API (http.go) also manages the cluster
// (cluster.go): it describes every member from the ring and each member's
// own status, and forwards actions to other members' admin APIs, which it
// finds by asking each member over the binary protocol (an Info frame the
// host answers itself, info.go). Its POSTs may require an admin key
// (adminkey.go). It serves a dashboard at / (dashboard.go: hand-written
// files under dashboard/, embedded), this node's recent throughput and
// latency at /v1/stats (stats.go), and Prometheus metrics at /metrics
// (metrics.go): request latency, timed from the node taking a request to
// its reply, fsync latency, timed on the disk's syncer goroutine, and the
// node's own counters — the host reads the clock, the node never does.
//
// The host also owns the configuration of memdbd: a TOML file, MEMDB_*
// environment variables and flags, in that order of precedence from lowest
// to highest, over the defaults (see Load).
//
// This package is the one addition to DESIGN.md's layout beyond disk/ and
// client/: the live host must live outside node/ (its goroutines would break
// node's determinism lint) and cmd/memdbd is kept thin, so the wiring is
// here, where end-to-end and benchmark tests can start a server in-process.
package host
