// Package store is a node's in-memory table: for each key, the latest
// version the node knows, a value or a tombstone, stamped with a Lamport
// timestamp. Versions merge by last-writer-wins on the timestamp, so applying
// the same versions in any order, any number of times, gives the same table.
// That is what lets replicas converge however messages are reordered or
// duplicated.
package store
