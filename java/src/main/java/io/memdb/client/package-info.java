/**
 * The Java client of memdb, a leaderless replicated in-memory key-value
 * store: the MemDB seed's API ({@link io.memdb.client.MemDbConnections},
 * {@link io.memdb.client.MemDb}) over memdb's binary protocol (version 1,
 * drawn in the repository's net/doc.go). It has no dependencies beyond the
 * JDK.
 */
package io.memdb.client;
