package io.memdb.client;

/**
 * A Lamport timestamp (counter, node), as in the frame header and in the
 * versions of values: ordered by counter (unsigned), then node.
 */
record Timestamp(long counter, int node) implements Comparable<Timestamp> {
    static final Timestamp ZERO = new Timestamp(0, 0);

    @Override
    public int compareTo(Timestamp o) {
        int c = Long.compareUnsigned(counter, o.counter);
        return c != 0 ? c : Integer.compare(node, o.node);
    }

    Timestamp max(Timestamp o) {
        return compareTo(o) >= 0 ? this : o;
    }
}
