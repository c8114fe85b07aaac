package io.memdb.client;

/**
 * The session clock: the highest timestamp the client has seen, in frame
 * clocks and in the versions of values read and writes acknowledged. Every
 * request carries it, so a node stamps this client's next write after
 * everything the client has observed, and a later write of the client wins
 * over its earlier one even through another coordinator (net/doc.go, "The
 * session clock").
 */
final class Session {
    private Timestamp max = Timestamp.ZERO;

    synchronized Timestamp now() {
        return max;
    }

    synchronized void observe(Timestamp t) {
        if (t.compareTo(max) > 0) {
            max = t;
        }
    }
}
