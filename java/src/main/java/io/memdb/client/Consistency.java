package io.memdb.client;

/**
 * How many replicas must answer a request (net/doc.go, "Consistency
 * levels"). A call without one uses the client's default, {@link #QUORUM}
 * unless {@link Options.Builder#consistency} says otherwise.
 */
public enum Consistency {
    /** Let the node choose (quorum). */
    DEFAULT(0),
    /** One replica. */
    ONE(1),
    /** A majority of the key's replicas. */
    QUORUM(2),
    /** Every replica of the key. */
    ALL(3),
    /**
     * Linearizable, through Paxos among the key's replicas: a get or contains
     * reads through a Paxos round, a set is a Paxos put; a delete is refused
     * ({@link NotSupportedException}). Serial calls are linearizable with cas
     * on the same key; mixing them with plain writes of the key is not.
     */
    SERIAL(4);

    final int wire;

    Consistency(int wire) {
        this.wire = wire;
    }
}
