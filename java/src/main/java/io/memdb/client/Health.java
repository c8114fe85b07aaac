package io.memdb.client;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the client has seen of one node, after the Go client's health
 * (client/health.go): how fast it answers each class of request, when it
 * last heard from it, and whether it counts as slow. Every field is
 * atomic: calls on any thread update it, and the connection's reader
 * records what it hears.
 *
 * <p>A node is slow when a request to it went unanswered past its bound
 * (see {@link #slowBound}) and nothing at all came from the node since that
 * request was sent: a node that answers other requests meanwhile is alive,
 * and the request is merely slow at its coordinator (a Paxos round under
 * contention, a replica the coordinator waits for). A slow node is tried
 * after every other; the first frame heard from it again — a late answer,
 * or the answer to a probe — makes it healthy.
 *
 * <p>Times are {@link #now()}: nanoseconds on the monotonic clock, never 0,
 * so that 0 can mean "never".
 */
final class Health {
    /** A class of request whose latency is estimated apart (see {@link #classOf}). */
    static final int READ = 0, WRITE = 1, PAXOS = 2, CLASSES = 3;

    /** slowFactor times a node's high latency is how long a request may go unanswered before the node is slow. */
    static final int SLOW_FACTOR = 8;
    /** The slow bound is at most 1/SLOW_SHARE of the call's time, so a slow node is found well before its deadline. */
    static final int SLOW_SHARE = 4;
    /** How often a slow node is probed. */
    static final long PROBE_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** How long the client waits for the answer to one probe. */
    static final long PROBE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Bounds a dial to a node that is not a call's last resort: nothing was sent, so the call may move on. */
    static final long DIAL_BOUND_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    private static final long BASE = System.nanoTime() - 1;

    /** The health clock: monotonic nanoseconds, at least 1. */
    static long now() {
        return System.nanoTime() - BASE;
    }

    /** When a frame last came from the node; 0: never. */
    final AtomicLong heard = new AtomicLong();
    /** When the node was found slow; 0 when it is not. */
    final AtomicLong slow = new AtomicLong();
    /** Whether a prober runs for the node. */
    final AtomicBoolean probing = new AtomicBoolean();
    /** The latency of each class of request. */
    final Estimate[] lat = {new Estimate(), new Estimate(), new Estimate()};

    /** Records a frame from the node at now: it is not slow. */
    void hear(long now) {
        heard.set(now);
        if (slow.get() != 0) {
            slow.set(0);
        }
    }

    boolean isSlow() {
        return slow.get() != 0;
    }

    /**
     * Records that a request sent at sent went unanswered past its bound,
     * at now. Reports whether that made the node slow: it does unless
     * something was heard from the node since sent, or it was slow already.
     */
    boolean overdue(long sent, long now) {
        if (heard.get() >= sent) {
            return false;
        }
        return slow.compareAndSet(0, now);
    }

    /**
     * The class of a request of kind at level (its first body byte, for
     * kinds that carry one): a quorum write waits for fsyncs and a Paxos
     * round for several round trips, so either would make a read look slow,
     * or the other way round.
     */
    static int classOf(Codec.Request r) {
        int kind = r.kind();
        boolean serial = r.body().length > 0 && (r.body()[0] & 0xff) == Consistency.SERIAL.wire;
        return switch (kind) {
            case Codec.GET, Codec.CONTAINS -> serial ? PAXOS : READ;
            case Codec.SET -> serial ? PAXOS : WRITE;
            case Codec.CAS -> PAXOS;
            case Codec.GET_COUNTER -> READ;
            default -> WRITE;
        };
    }

    /**
     * How long, in nanoseconds, a request of class cl may go unanswered
     * before the node is found slow: SLOW_FACTOR times its high latency, at
     * least slowAfter, at most 1/SLOW_SHARE of left, the time the call has
     * (left &lt;= 0: no such bound).
     */
    long slowBound(long slowAfter, int cl, long left) {
        long b = Math.max(slowAfter, SLOW_FACTOR * lat[cl].high());
        if (left > 0) {
            b = Math.min(b, left / SLOW_SHARE);
        }
        return b;
    }

    /**
     * How long, in nanoseconds, a read of class cl waits for the node before
     * it goes to another node as well: the node's high latency, at least
     * hedgeAfter, at most slow (the request's slow bound).
     */
    long hedgeDelay(long hedgeAfter, int cl, long slow) {
        return Math.min(Math.max(hedgeAfter, lat[cl].high()), slow);
    }

    /**
     * A latency tracked as TCP tracks a round-trip time (RFC 6298, after
     * Jacobson): a smoothed mean (gain 1/8) and a smoothed mean deviation
     * (gain 1/4), in nanoseconds; {@link #high}, the mean plus four
     * deviations, is a latency few answers exceed. The two words are
     * updated without a lock: a sample lost to a concurrent update changes
     * nothing that matters.
     */
    static final class Estimate {
        final AtomicLong srtt = new AtomicLong();
        final AtomicLong rttvar = new AtomicLong();

        /** Adds a sample of d nanoseconds. */
        void observe(long d) {
            d = Math.max(d, 1);
            long s = srtt.get();
            if (s == 0) {
                rttvar.set(d / 2);
                srtt.set(d);
                return;
            }
            long dev = Math.abs(d - s);
            long v = rttvar.get();
            rttvar.set(v + (dev - v) / 4);
            srtt.set(s + (d - s) / 8);
        }

        /** The mean plus four mean deviations; 0 before any sample. */
        long high() {
            return srtt.get() + 4 * rttvar.get();
        }
    }
}
