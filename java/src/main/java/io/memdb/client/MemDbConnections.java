package io.memdb.client;

import java.util.List;

/**
 * Opens clients. Each factory connects and authenticates before it
 * returns, so a wrong key ({@link AuthException}) or a dead cluster
 * ({@link UnreachableException}) shows at once.
 *
 * <pre>{@code
 * try (MemDb db = MemDbConnections.cluster("the client key",
 *         List.of("127.0.0.1:7400", "127.0.0.1:7410", "127.0.0.1:7420"))) {
 *     db.set("key1", "hello");
 *     String v = db.quorumGet("key1").awaitQuorum(2, TimeUnit.SECONDS).orElse("(nil)");
 * }
 * }</pre>
 */
public final class MemDbConnections {
    private MemDbConnections() {}

    /**
     * A client of the cluster reachable through seeds ("host:port"): it asks
     * the first seed that answers for the ring, and sends each call to a
     * replica of its key.
     *
     * @param key the client key the nodes were started with; "" if none
     */
    public static MemDb cluster(String key, List<String> seeds) {
        return connect(Options.builder().key(key).seeds(seeds).build());
    }

    /**
     * A client of one node: every call goes to the node at address, which
     * coordinates it (the single-node form; no ring, no routing).
     */
    public static MemDb node(String key, String address) {
        return connect(Options.builder().key(key).seeds(List.of(address)).routing(false).build());
    }

    /** A client configured by options. */
    public static MemDb connect(Options options) {
        return Client.connect(options);
    }
}
