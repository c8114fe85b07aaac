// Package e2e holds end-to-end tests: they build the real binaries, start
// real memdbd processes on loopback ports and drive them with the real memdb
// client, as a user would.
package e2e
