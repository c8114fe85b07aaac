package io.memdb.client;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a client connects: the seed addresses, the client key, the default
 * consistency and call timeout, and whether it routes each call to a
 * replica of its key. Build one with {@link #builder()}; every field but
 * the seeds has a default.
 */
public final class Options {
    /** The default call timeout, as the Go client's. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** How often a routing client asks a node for the ring again. */
    public static final Duration DEFAULT_RING_REFRESH = Duration.ofSeconds(30);
    /** The least time a request goes unanswered before its node may be found slow, as the Go client's. */
    public static final Duration DEFAULT_SLOW_AFTER = Duration.ofMillis(50);
    /** The least time a read waits for its node before it goes to another node as well, as the Go client's. */
    public static final Duration DEFAULT_HEDGE_AFTER = Duration.ofMillis(2);

    final List<String> seeds;
    final String key;
    final Consistency consistency;
    final Duration timeout;
    final boolean routing;
    final Duration ringRefresh;
    /** The floor of the slow bound, in nanoseconds; negative: no health tracking. */
    final long slowAfterNanos;
    /** The floor of the hedge delay, in nanoseconds; negative: no hedging. */
    final long hedgeAfterNanos;
    /** TLS for every connection, or null for plaintext. */
    final javax.net.ssl.SSLContext tls;

    private Options(Builder b) {
        if (b.seeds == null || b.seeds.isEmpty()) {
            throw new IllegalArgumentException("memdb: no node address given");
        }
        for (String s : b.seeds) {
            if (s == null || s.isEmpty()) {
                throw new IllegalArgumentException("memdb: an address is empty");
            }
        }
        if (b.timeout.isNegative() || b.timeout.isZero()) {
            throw new IllegalArgumentException("memdb: timeout " + b.timeout + " must be positive");
        }
        this.seeds = List.copyOf(b.seeds);
        this.key = Objects.requireNonNull(b.key, "key");
        this.consistency = Objects.requireNonNull(b.consistency, "consistency");
        this.timeout = b.timeout;
        this.routing = b.routing;
        this.ringRefresh = Objects.requireNonNull(b.ringRefresh, "ringRefresh");
        if (Objects.requireNonNull(b.slowAfter, "slowAfter").isZero()) {
            throw new IllegalArgumentException("memdb: slowAfter must not be zero (negative turns health tracking off)");
        }
        this.slowAfterNanos = b.slowAfter.isNegative() ? -1 : b.slowAfter.toNanos();
        this.hedgeAfterNanos = Objects.requireNonNull(b.hedgeAfter, "hedgeAfter").isNegative() ? -1
                : b.hedgeAfter.toNanos();
        this.tls = b.tlsCa == null ? null : Tls.context(b.tlsCa, b.tlsCert, b.tlsKey);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link Options}. */
    public static final class Builder {
        private List<String> seeds;
        private String key = "";
        private Consistency consistency = Consistency.DEFAULT;
        private Duration timeout = DEFAULT_TIMEOUT;
        private boolean routing = true;
        private Duration ringRefresh = DEFAULT_RING_REFRESH;
        private Duration slowAfter = DEFAULT_SLOW_AFTER;
        private Duration hedgeAfter = DEFAULT_HEDGE_AFTER;
        private java.nio.file.Path tlsCa, tlsCert, tlsKey;

        private Builder() {}

        /**
         * Connects over TLS, trusting the nodes whose certificates the CA in
         * caPem (PEM) signed: for nodes started with -tls-cert. The client key
         * is still proved inside TLS. A node that serves plaintext is refused
         * ({@link AuthException}), as is one whose certificate the CA did not
         * sign or does not name its address.
         */
        public Builder tls(java.nio.file.Path caPem) {
            this.tlsCa = caPem;
            return this;
        }

        /**
         * As {@link #tls(java.nio.file.Path)}, presenting the client
         * certificate certPem with its key keyPem (PEM; PKCS#8, or SEC 1 for
         * EC P-256) to nodes that require one (-tls-client-ca).
         */
        public Builder tls(java.nio.file.Path caPem, java.nio.file.Path certPem, java.nio.file.Path keyPem) {
            this.tlsCa = caPem;
            this.tlsCert = certPem;
            this.tlsKey = keyPem;
            return this;
        }

        /**
         * The addresses ("host:port") of nodes to connect through; at least one.
         * The client asks the first that answers for the ring; the others are
         * fallbacks.
         */
        public Builder seeds(List<String> seeds) {
            this.seeds = seeds;
            return this;
        }

        /** The client key the nodes were started with (-client-key); empty if none. */
        public Builder key(String key) {
            this.key = key;
            return this;
        }

        /** The level of calls that do not give one; DEFAULT lets the node choose (quorum). */
        public Builder consistency(Consistency c) {
            this.consistency = c;
            return this;
        }

        /** Bounds each call, connecting included. Default 5 s. */
        public Builder timeout(Duration d) {
            this.timeout = d;
            return this;
        }

        /**
         * Whether to learn the ring and send each call to a replica of its key
         * (default). Without routing, every call goes to the seed that answered
         * last, which coordinates it, and there is no health tracking and no
         * hedging (see {@link #slowAfter}, {@link #hedgeAfter}).
         */
        public Builder routing(boolean routing) {
            this.routing = routing;
            return this;
        }

        /** How often a routing client asks for the ring again (besides after failures); zero: only then. */
        public Builder ringRefresh(Duration d) {
            this.ringRefresh = d;
            return this;
        }

        /**
         * The least time a request may go unanswered, with nothing else heard
         * from its node meanwhile, before a routing client finds the node slow
         * and tries it after every other node until it is heard from again (a
         * late answer, or a probe the client sends every 200 ms). The bound
         * used is 8 times the node's recent latency for that kind of request
         * (its smoothed mean plus four mean deviations), at least slowAfter
         * and at most a quarter of the time the call has. Default
         * {@link #DEFAULT_SLOW_AFTER}; negative turns health tracking off
         * (zero is refused). Without routing there is none.
         */
        public Builder slowAfter(Duration d) {
            this.slowAfter = d;
            return this;
        }

        /**
         * The least time a routing client waits for the node a read went to
         * before it sends the read to another node as well; the first answer
         * wins. The delay used is the node's recent latency for reads (smoothed
         * mean plus four mean deviations), at least hedgeAfter and at most the
         * slowAfter bound. Writes are never hedged, nor are serial reads (each
         * is a Paxos round, and two would compete for the key's ballots).
         * Default {@link #DEFAULT_HEDGE_AFTER}; negative turns hedging off.
         * Without routing there is none.
         */
        public Builder hedgeAfter(Duration d) {
            this.hedgeAfter = d;
            return this;
        }

        public Options build() {
            return new Options(this);
        }
    }
}
