package io.memdb.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The implementation of {@link MemDb}, after the Go client (client/):
 *
 * <ul>
 *   <li>One pipelined {@link Connection} per node address, dialed when first
 *       needed and redialed when found broken; a node whose dial failed is
 *       tried after the others for a second.
 *   <li>Routing: the client asks a node for the ring (Ring, answered by
 *       RingInfo) when it connects, every ringRefresh, and (at most once a
 *       second) after a call could not reach its node; each keyed call then
 *       goes to the first reachable node of its key's preference list
 *       (Fingerprint64 of the key on the ring), then any other node.
 *   <li>Retries: a read whose connection broke is sent again, on a fresh
 *       connection of the same node once, then on the next node; a write
 *       (set, delete, cas) that may have reached a node is never sent again:
 *       it ends in {@link UnknownOutcomeException}. A request that certainly
 *       was not acted on (the connection had broken before it was queued,
 *       or the node answered "shutting down") goes to the next node.
 *   <li>Increments (IncrCall) are the exception: each carries an operation
 *       id (the client's random session, a seq per call) that makes it
 *       exactly-once at the node that got its first attempt, so one whose
 *       outcome is unknown is sent again to that node, and only that node,
 *       until the call's deadline.
 *   <li>Health (issue 21), as the Go client's: per node, latency estimates
 *       by class and the time it was last heard from (Health); a node that
 *       leaves a request unanswered past its slow bound, with nothing heard
 *       from it since, is tried after every other and probed until it
 *       answers; a plain read unanswered after its hedge delay also goes to
 *       the next node (Exchange); writes are never hedged nor resent.
 * </ul>
 */
final class Client implements MemDb {
    private static final long DOWN_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long KICK_GAP_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Options opts;
    private final byte[] key;
    private final Session session = new Session();
    private final ConcurrentHashMap<String, Node> nodes = new ConcurrentHashMap<>();
    private final List<Node> seeds = new ArrayList<>();
    private final AtomicInteger preferred = new AtomicInteger();
    private volatile Route route;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ScheduledThreadPoolExecutor timer;
    private final ExecutorService background;
    private final AtomicBoolean refreshing = new AtomicBoolean();
    private final AtomicLong lastKick = new AtomicLong(System.nanoTime() - KICK_GAP_NANOS);
    private final AtomicLong asks = new AtomicLong();
    /** Names this client's increments: a random session, and a seq per call (see IncrCall). */
    private final long counterSession = newSession();
    private final AtomicLong counterSeq = new AtomicLong();
    /** The least time a read's late answer is waited for, to be sampled (Exchange.finish). */
    static final long LATE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** How many reads were hedged (for tests and Bench). */
    final AtomicLong hedged = new AtomicLong();
    /** For tests: run by each call just before it queues its request. */
    volatile Runnable beforeSend;

    private Client(Options opts) {
        this.opts = opts;
        this.key = opts.key.getBytes(StandardCharsets.UTF_8);
        ThreadFactory daemons = r -> {
            Thread t = new Thread(r, "memdb-client");
            t.setDaemon(true);
            return t;
        };
        timer = new ScheduledThreadPoolExecutor(1, daemons);
        timer.setRemoveOnCancelPolicy(true);
        background = Executors.newCachedThreadPool(daemons);
        for (String a : opts.seeds) {
            seeds.add(node(a));
        }
    }

    /** Connects to the first seed that answers, then learns the ring. */
    static Client connect(Options opts) {
        Client c = new Client(opts);
        try {
            c.dialFirst();
            if (opts.routing) {
                c.learn();
                long every = opts.ringRefresh.toNanos();
                if (every > 0) {
                    c.timer.scheduleWithFixedDelay(c::refreshInBackground, every, every, TimeUnit.NANOSECONDS);
                }
            }
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private void dialFirst() {
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < seeds.size(); i++) {
            Node n = seeds.get(i);
            try {
                n.connection().get(opts.timeout.toMillis(), TimeUnit.MILLISECONDS);
                preferred.set(i);
                return;
            } catch (ExecutionException e) {
                Throwable t = unwrap(e);
                if (t instanceof AuthException a) {
                    throw a;
                }
                failures.add(n.addr + ": " + t.getMessage());
            } catch (java.util.concurrent.TimeoutException e) {
                failures.add(n.addr + ": no answer within " + opts.timeout.toMillis() + " ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MemDbException("interrupted while connecting", 0, e);
            }
        }
        throw new UnreachableException("unreachable: " + String.join("; ", failures));
    }

    /** A random session id for the client's increments; never 0. */
    private static long newSession() {
        java.security.SecureRandom r = new java.security.SecureRandom();
        long s;
        do {
            s = r.nextLong();
        } while (s == 0);
        return s;
    }

    private Node node(String addr) {
        return nodes.computeIfAbsent(addr, Node::new);
    }

    // ---- the API ----

    @Override
    public String get(String key) {
        return get(key, opts.consistency);
    }

    @Override
    public String get(String key, Consistency c) {
        return await(getAsync(key, c), false).orElse(null);
    }

    @Override
    public byte[] getBytes(String key, Consistency c) {
        return await(getBytesAsync(key, c), false).orElse(null);
    }

    @Override
    public Pending<String> quorumGet(String key) {
        return new Pending<>(getAsync(key, Consistency.QUORUM));
    }

    @Override
    public void set(String key, String value) {
        set(key, value, opts.consistency);
    }

    @Override
    public void set(String key, String value, Consistency c) {
        await(setAsync(key, value, c), true);
    }

    @Override
    public void set(String key, byte[] value, Consistency c) {
        await(setAsync(key, value, c), true);
    }

    @Override
    public void delete(String key) {
        delete(key, opts.consistency);
    }

    @Override
    public void delete(String key, Consistency c) {
        await(deleteAsync(key, c), true);
    }

    @Override
    public boolean contains(String key) {
        return contains(key, opts.consistency);
    }

    @Override
    public boolean contains(String key, Consistency c) {
        return await(containsAsync(key, c), false);
    }

    @Override
    public boolean cas(String key, String oldValue, String newValue) {
        return await(casAsync(key, oldValue, newValue), true);
    }

    @Override
    public boolean casBytes(String key, byte[] oldValue, byte[] newValue) {
        return await(casBytesAsync(key, oldValue, newValue), true);
    }

    @Override
    public long incr(String key) {
        return incr(key, 1, opts.consistency);
    }

    @Override
    public long incr(String key, long delta) {
        return incr(key, delta, opts.consistency);
    }

    @Override
    public long incr(String key, long delta, Consistency c) {
        return await(incrAsync(key, delta, c), true);
    }

    @Override
    public long decr(String key) {
        return decr(key, 1);
    }

    @Override
    public long decr(String key, long delta) {
        if (delta == Long.MIN_VALUE) {
            throw new IllegalArgumentException("memdb: decr of " + delta + " cannot be negated: use incr");
        }
        return await(incr("decr", key, -delta, opts.consistency), true);
    }

    @Override
    public long counter(String key, Consistency c) {
        return await(counterAsync(key, c), false);
    }

    @Override
    public Pending<Integer> getQuorumCounter(String key) {
        return new Pending<>(counterAsync(key, Consistency.QUORUM).thenApply(v -> {
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw new MemDbException("getQuorumCounter " + quote(key) + ": the value " + v
                        + " does not fit an int; use getQuorumCounterLong");
            }
            return Optional.of(v.intValue());
        }));
    }

    @Override
    public Pending<Long> getQuorumCounterLong(String key) {
        return new Pending<>(counterAsync(key, Consistency.QUORUM).thenApply(Optional::of));
    }

    @Override
    public CompletableFuture<Long> incrAsync(String key, long delta, Consistency c) {
        return incr("incr", key, delta, c);
    }

    @Override
    public CompletableFuture<Long> counterAsync(String key, Consistency c) {
        byte[] k = keyBytes(key);
        int level = counterLevel("counter", c);
        return call("counter", key, k, Codec.getCounter(level, k), false,
                msg -> ((Codec.CounterValue) msg).value());
    }

    private CompletableFuture<Long> incr(String op, String key, long delta, Consistency c) {
        byte[] k = keyBytes(key);
        int level = counterLevel(op, c);
        if (delta == 0) {
            throw new IllegalArgumentException("memdb: " + op + " of 0 changes nothing; read a counter with counter()");
        }
        if (closed.get()) {
            return CompletableFuture.failedFuture(new ClientClosedException("memdb: the client is closed"));
        }
        return answer(op, key, Codec.INCR, true, new IncrCall(op, key, k, level, delta).start(),
                msg -> ((Codec.CounterValue) msg).value());
    }

    /** The wire level of a counter call; serial is refused (counters are not made through Paxos). */
    private int counterLevel(String op, Consistency c) {
        int level = level(c);
        if (level == Consistency.SERIAL.wire) {
            throw new IllegalArgumentException("memdb: " + op
                    + " cannot be serial: counters are not made through Paxos; use ONE, QUORUM or ALL");
        }
        return level;
    }

    @Override
    public CompletableFuture<Optional<String>> getAsync(String key) {
        return getAsync(key, opts.consistency);
    }

    @Override
    public CompletableFuture<Optional<String>> getAsync(String key, Consistency c) {
        return getBytesAsync(key, c).thenApply(o -> o.map(b -> new String(b, StandardCharsets.UTF_8)));
    }

    @Override
    public CompletableFuture<Optional<byte[]>> getBytesAsync(String key, Consistency c) {
        byte[] k = keyBytes(key);
        return call("get", key, k, Codec.get(level(c), k), false, msg -> {
            Codec.Value v = (Codec.Value) msg;
            session.observe(v.version());
            return v.found() ? Optional.of(v.value()) : Optional.<byte[]>empty();
        });
    }

    @Override
    public CompletableFuture<Void> setAsync(String key, String value) {
        return setAsync(key, value, opts.consistency);
    }

    @Override
    public CompletableFuture<Void> setAsync(String key, String value, Consistency c) {
        return setAsync(key, utf8(value, "value"), c);
    }

    @Override
    public CompletableFuture<Void> setAsync(String key, byte[] value, Consistency c) {
        byte[] k = keyBytes(key);
        checkValue(value, "value");
        return call("set", key, k, Codec.set(level(c), k, value), true, this::done);
    }

    @Override
    public CompletableFuture<Void> deleteAsync(String key) {
        return deleteAsync(key, opts.consistency);
    }

    @Override
    public CompletableFuture<Void> deleteAsync(String key, Consistency c) {
        byte[] k = keyBytes(key);
        return call("delete", key, k, Codec.delete(level(c), k), true, this::done);
    }

    @Override
    public CompletableFuture<Boolean> containsAsync(String key) {
        return containsAsync(key, opts.consistency);
    }

    @Override
    public CompletableFuture<Boolean> containsAsync(String key, Consistency c) {
        byte[] k = keyBytes(key);
        return call("contains", key, k, Codec.contains(level(c), k), false, Client::bool);
    }

    @Override
    public CompletableFuture<Boolean> casAsync(String key, String oldValue, String newValue) {
        return casBytesAsync(key, oldValue == null ? null : utf8(oldValue, "old value"), utf8(newValue, "new value"));
    }

    @Override
    public CompletableFuture<Boolean> casBytesAsync(String key, byte[] oldValue, byte[] newValue) {
        byte[] k = keyBytes(key);
        if (oldValue != null) {
            checkValue(oldValue, "old value");
        }
        checkValue(newValue, "new value");
        return call("cas", key, k, Codec.cas(k, oldValue, newValue), true, Client::bool);
    }

    /** The result of a write: none, but its version joins the session. */
    private Void done(Object msg) {
        session.observe(((Codec.Done) msg).version());
        return null;
    }

    private static Boolean bool(Object msg) {
        return ((Codec.Bool) msg).value();
    }

    private int level(Consistency c) {
        return (c == null ? opts.consistency : c).wire;
    }

    @Override
    public void batch(java.util.Map<String, String> writes) {
        if (writes == null) {
            throw new IllegalArgumentException("memdb: the batch is null");
        }
        java.util.Map<String, byte[]> b = new java.util.LinkedHashMap<>();
        writes.forEach((k, v) -> b.put(k, v == null ? null : v.getBytes(StandardCharsets.UTF_8)));
        batchBytes(b);
    }

    @Override
    public void batchBytes(java.util.Map<String, byte[]> writes) {
        if (writes == null || writes.isEmpty() || writes.size() > Codec.MAX_BATCH_KEYS) {
            throw new IllegalArgumentException("memdb: a batch of " + (writes == null ? 0 : writes.size())
                    + " writes (want 1 to " + Codec.MAX_BATCH_KEYS + ")");
        }
        byte[][] keys = new byte[writes.size()][];
        byte[][] values = new byte[writes.size()][];
        long size = 0;
        int i = 0;
        String first = null;
        for (java.util.Map.Entry<String, byte[]> w : writes.entrySet()) {
            keys[i] = keyBytes(w.getKey());
            values[i] = w.getValue();
            if (values[i] != null) {
                checkValue(values[i], "value of " + quote(w.getKey()));
            }
            size += keys[i].length + (values[i] == null ? 0 : values[i].length);
            if (first == null) {
                first = w.getKey();
            }
            i++;
        }
        if (size > Codec.MAX_BATCH_BYTES) {
            throw new IllegalArgumentException("memdb: a batch of " + size + " bytes of keys and values (at most "
                    + Codec.MAX_BATCH_BYTES + ")");
        }
        byte[] token = new byte[16];
        new java.security.SecureRandom().nextBytes(token);
        Codec.Request req = Codec.batch(token, keys, values);
        String op = "batch of " + writes.size();
        long deadline = System.nanoTime() + opts.timeout.toNanos();
        UnknownOutcomeException unknown = null;
        for (int attempt = 1;; attempt++) {
            try {
                await(call(op, first, keys[0], req, true, msg -> null), true);
                return;
            } catch (UnknownOutcomeException e) {
                unknown = e; // sent again with the token: never applied twice
            } catch (AbortedException e) {
                throw e; // the batch's record says so, for every attempt
            } catch (MemDbException e) {
                if (unknown != null) {
                    throw new UnknownOutcomeException("outcome unknown: " + unknown.getMessage() + " (and then: "
                            + e.getMessage() + ")", Codec.CODE_UNKNOWN_OUTCOME, e);
                }
                throw e;
            }
            long pause = Math.min(250, 5L << Math.min(attempt - 1, 6)) * 1_000_000L;
            if (System.nanoTime() + pause >= deadline) {
                throw unknown;
            }
            try {
                Thread.sleep(pause / 1_000_000L);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw unknown;
            }
        }
    }

    private static byte[] keyBytes(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("memdb: the key is empty");
        }
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        if (k.length > Codec.MAX_KEY) {
            throw new IllegalArgumentException("memdb: key of " + k.length + " bytes exceeds the " + Codec.MAX_KEY
                    + "-byte limit");
        }
        return k;
    }

    private static byte[] utf8(String s, String what) {
        if (s == null) {
            throw new IllegalArgumentException("memdb: the " + what + " is null");
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void checkValue(byte[] v, String what) {
        if (v == null) {
            throw new IllegalArgumentException("memdb: the " + what + " is null");
        }
        if (v.length > Codec.MAX_VALUE) {
            throw new IllegalArgumentException("memdb: " + what + " of " + v.length + " bytes exceeds the "
                    + Codec.MAX_VALUE + "-byte limit");
        }
    }

    /**
     * Exchanges req and turns the answer into the call's result: an Error
     * becomes its exception, a message of the wrong kind a protocol
     * violation (after a write, an unknown outcome), and answer maps the
     * expected message to the result.
     */
    private <T> CompletableFuture<T> call(String op, String key, byte[] k, Codec.Request req, boolean write,
            Function<Object, T> answer) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new ClientClosedException("memdb: the client is closed"));
        }
        return answer(op, key, req.kind(), write, new Exchange(op, key, k, req, write).start(), answer);
    }

    /** The call's result from the answer frame of a request of kind: see call. */
    private <T> CompletableFuture<T> answer(String op, String key, int kind, boolean write,
            CompletableFuture<Codec.Frame> exchange, Function<Object, T> answer) {
        return exchange.thenApply(f -> {
            Object msg = f.msg();
            if (msg instanceof Codec.Error e) {
                throw replyError(op, key, e);
            }
            boolean expected = switch (kind) {
                case Codec.GET -> msg instanceof Codec.Value;
                case Codec.SET, Codec.DELETE, Codec.BATCH -> msg instanceof Codec.Done;
                case Codec.INCR, Codec.GET_COUNTER -> msg instanceof Codec.CounterValue;
                default -> msg instanceof Codec.Bool;
            };
            if (!expected) {
                String m = op + " " + quote(key) + ": the node replied kind " + f.kind() + ": protocol violation";
                throw write ? new UnknownOutcomeException(m) : new ServerException(m);
            }
            return answer.apply(msg);
        });
    }

    /** The exception of an Error answer to op on key. */
    static MemDbException replyError(String op, String key, Codec.Error e) {
        String m = op + " " + quote(key) + ": " + e.message();
        return switch (e.code()) {
            case Codec.CODE_UNAVAILABLE -> new QuorumNotReachedException("quorum not reached: " + m, e.code(), null);
            case Codec.CODE_UNKNOWN_OUTCOME -> new UnknownOutcomeException("outcome unknown: " + m, e.code(), null);
            case Codec.CODE_CONTENTION -> new ContentionException("contention: " + m, e.code(), null);
            case Codec.CODE_AUTH -> new AuthException("auth refused: " + m, e.code(), null);
            case Codec.CODE_UNSUPPORTED, Codec.CODE_OVERFLOW -> new NotSupportedException(
                    (e.code() == Codec.CODE_OVERFLOW ? "overflow: " : "unsupported: ") + m, e.code(), null);
            case Codec.CODE_WRONG_KIND -> new WrongKindException("wrong kind of value: " + m, e.code(), null);
            case Codec.CODE_ABORTED -> new AbortedException("batch aborted: " + m, e.code(), null);
            default -> new ServerException(m + " (error code " + e.code() + ")", e.code(), null);
        };
    }

    /** A key for an error message, shortened if long. */
    static String quote(String key) {
        return key.length() > 40 ? "\"" + key.substring(0, 40) + "\"…(" + key.length() + " chars)" : "\"" + key + "\"";
    }

    /** Waits for f; a failure is rethrown as its MemDbException. */
    private static <T> T await(CompletableFuture<T> f, boolean write) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            String m = "interrupted while waiting for the answer";
            throw write ? new UnknownOutcomeException(m, 0, e) : new MemDbException(m, 0, e);
        }
    }

    static MemDbException rethrow(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof MemDbException m) {
            return m;
        }
        if (t instanceof IllegalArgumentException || t instanceof IllegalStateException) {
            throw (RuntimeException) t;
        }
        return new MemDbException(String.valueOf(t), 0, t);
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (Node n : nodes.values()) {
            n.close();
        }
        timer.shutdownNow();
        background.shutdownNow();
    }

    // ---- one call ----

    /** Whether the client tracks node health: when it routes, unless slowAfter is negative. */
    boolean tracking() {
        return opts.routing && opts.slowAfterNanos >= 0;
    }

    /** Whether reads are hedged: when the client routes, unless hedgeAfter is negative. */
    boolean hedging() {
        return opts.routing && opts.hedgeAfterNanos >= 0;
    }

    /**
     * The floor of the slow bound: slowAfter, or its default when tracking
     * is off (the bound still caps the hedge delay and each latency sample).
     */
    private long slowFloor() {
        return opts.slowAfterNanos >= 0 ? opts.slowAfterNanos : Options.DEFAULT_SLOW_AFTER.toNanos();
    }

    /** Runs r after nanos on the timer; null if the client is closed. */
    private ScheduledFuture<?> schedule(Runnable r, long nanos) {
        try {
            return timer.schedule(r, Math.max(nanos, 0), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return null;
        }
    }

    private static void cancel(ScheduledFuture<?> f) {
        if (f != null) {
            f.cancel(false);
        }
    }

    /** Marks n slow if a request sent to it at sent is overdue now, and starts probing it. */
    private void overdue(Node n, long sent) {
        if (n.health.overdue(sent, Health.now())) {
            startProbe(n);
        }
    }

    /** Starts probing n unless a prober runs for it or the client is closed. */
    private void startProbe(Node n) {
        if (!n.health.probing.compareAndSet(false, true)) {
            return;
        }
        if (closed.get() || schedule(() -> probe(n), Health.PROBE_EVERY_NANOS) == null) {
            n.health.probing.set(false);
        }
    }

    /**
     * One tick of n's prober: while n is slow, asks it for the ring every
     * PROBE_EVERY (unless the last probe is still unanswered, for at most
     * PROBE_TIMEOUT): any frame it sends, the answer or a late reply, makes
     * it healthy again (Connection tells its Health).
     */
    private void probe(Node n) {
        Health h = n.health;
        if (closed.get()) {
            h.probing.set(false);
            return;
        }
        if (!h.isSlow()) {
            h.probing.set(false);
            // A request may have found the node slow again between the
            // check and the store; then its compareAndSet failed, and this
            // prober must go on.
            if (!h.isSlow() || !h.probing.compareAndSet(false, true)) {
                return;
            }
        }
        n.sendProbe();
        if (schedule(() -> probe(n), Health.PROBE_EVERY_NANOS) == null) {
            h.probing.set(false);
        }
    }

    /** The nodes a call tries, in order: those from index later on are down or slow. */
    private record Order(List<Node> nodes, int later, boolean routed) {
        /** Whether the node at index i is a last resort: none is left after the down and slow ones. */
        boolean lastResort(int i) {
            return !routed || i >= later;
        }
    }

    /**
     * One call's exchange, after the Go client's (client/exchange.go): the
     * nodes it tries, in order, and the attempts in flight — one, or a read
     * and its hedge. An answer, a connection's failure, the call's deadline,
     * an attempt's slow bound and the hedge's time race; every method runs
     * under the exchange's monitor, and whatever loses finds the result done
     * or its attempt gone.
     *
     * <p>With health tracking, a request unanswered past its slow bound
     * marks its node slow (unless the node sent anything since), so that
     * later calls go elsewhere first; the call itself goes on waiting if it
     * is a write, since a write that was sent is never sent again. A plain
     * read is hedged instead: unanswered after its hedge delay, it goes to
     * the next node of the order as well, and the first answer wins. A hedge
     * that cannot be sent is a failure of its node, never of the call while
     * another attempt may answer. A serial read is not hedged: two
     * coordinators of one key would fight over its ballots.
     */
    private final class Exchange {
        final String op;
        final String key;
        final Codec.Request req;
        final boolean write;
        final int cl;
        final boolean track;
        /** The read is yet to be hedged (once, timed by its first node). */
        boolean hedge;
        final long deadline;
        final CompletableFuture<Codec.Frame> result = new CompletableFuture<>();
        final Order order;
        final List<String> failures = new ArrayList<>();
        int next;
        /** The attempts connecting or in flight. */
        final List<Attempt> live = new ArrayList<>(2);
        /** A request has been queued on a connection: a write's outcome is then unknown. */
        boolean queued;
        ScheduledFuture<?> hedgeTimer;

        /** The request sent, or about to be, to one node. */
        final class Attempt {
            final Node node;
            /** Another connection of the node may be tried if this one breaks. */
            final boolean again;
            /** No node is left after this one: its dial is not bounded. */
            final boolean lastResort;
            /** Whether the request is queued (then conn, id and sent are set); done: it ended. */
            boolean inFlight, done;
            /** A read the call stopped waiting for: its late answer is sampled (finish). */
            boolean late;
            Connection conn;
            long id;
            long sent;
            ScheduledFuture<?> dialTimer, slowTimer;

            Attempt(Node node, boolean again, boolean lastResort) {
                this.node = node;
                this.again = again;
                this.lastResort = lastResort;
            }
        }

        Exchange(String op, String key, byte[] k, Codec.Request req, boolean write) {
            this.op = op;
            this.key = key;
            this.req = req;
            this.write = write;
            this.cl = Health.classOf(req);
            this.track = tracking();
            this.hedge = !write && cl == Health.READ && hedging();
            this.order = order(k);
            this.deadline = Health.now() + opts.timeout.toNanos();
        }

        CompletableFuture<Codec.Frame> start() {
            ScheduledFuture<?> t = timer.schedule(this::timeout, opts.timeout.toNanos(), TimeUnit.NANOSECONDS);
            result.whenComplete((f, e) -> {
                t.cancel(false);
                finish();
            });
            synchronized (this) {
                launch(null, false);
            }
            return result;
        }

        /**
         * Sends the request to the next node in order, or to node again (not
         * null: once more, on a fresh connection); with no node left and
         * nothing in flight, the call is unreachable.
         */
        private void launch(Node againNode, boolean lastResort) {
            if (result.isDone()) {
                return;
            }
            if (closed.get()) {
                result.completeExceptionally(new ClientClosedException("memdb: the client is closed"));
                return;
            }
            Attempt a;
            if (againNode != null) {
                a = new Attempt(againNode, false, lastResort);
            } else {
                if (next >= order.nodes().size()) {
                    if (live.isEmpty()) {
                        result.completeExceptionally(new UnreachableException(op + " " + quote(key)
                                + ": unreachable: " + String.join("; ", failures)));
                    }
                    return;
                }
                a = new Attempt(order.nodes().get(next), true, order.lastResort(next));
                next++;
            }
            live.add(a);
            connect(a);
        }

        /**
         * Gets a connection to a's node. A node that is not the last resort
         * gets a bounded dial (with health tracking): nothing is sent until
         * it succeeds, so the call can move on.
         */
        private void connect(Attempt a) {
            CompletableFuture<Connection> cf = a.node.connection();
            if (track && !a.lastResort && !cf.isDone()) {
                a.dialTimer = schedule(() -> connected(a, null, new IOException("no connection within "
                        + TimeUnit.NANOSECONDS.toMillis(Health.DIAL_BOUND_NANOS) + " ms")), Health.DIAL_BOUND_NANOS);
            }
            cf.whenComplete((c, err) -> connected(a, c, err));
        }

        private synchronized void connected(Attempt a, Connection c, Throwable err) {
            if (result.isDone() || a.done || a.inFlight) {
                return;
            }
            cancel(a.dialTimer);
            if (err != null) {
                end(a);
                Throwable t = unwrap(err);
                if ((t instanceof AuthException || t instanceof ClientClosedException) && live.isEmpty()) {
                    result.completeExceptionally(t);
                    return;
                }
                lost(a.node, t);
                if (live.isEmpty()) {
                    launch(null, false);
                }
                return;
            }
            // Under the monitor timeout() takes: the deadline either passes
            // before this point (and nothing is sent) or after queued is set
            // (and the timeout says the write may have happened).
            Runnable hook = beforeSend;
            if (hook != null) {
                hook.run();
            }
            if (result.isDone()) {
                return;
            }
            Connection.Call call;
            try {
                call = c.send(req);
            } catch (RuntimeException e) {
                // Refused before it was queued: nothing was sent.
                result.completeExceptionally(new MemDbException(op + " " + quote(key) + ": " + e, 0, e));
                return;
            }
            if (call.reply().isCompletedExceptionally()) {
                // The connection had broken: nothing was sent; a fresh one may do.
                end(a);
                lost(a.node, unwrap(call.reply().handle((x, ex) -> ex).join()));
                retry(a);
                return;
            }
            long sent = Health.now();
            a.inFlight = true;
            a.conn = c;
            a.id = call.id();
            a.sent = sent;
            queued = true;
            Health h = a.node.health;
            long slow = h.slowBound(slowFloor(), cl, deadline - sent);
            if (track) {
                Node n = a.node;
                a.slowTimer = schedule(() -> overdue(n, sent), slow);
            }
            if (hedge) {
                hedge = false;
                hedgeTimer = schedule(this::hedgeDue, h.hedgeDelay(opts.hedgeAfterNanos, cl, slow));
            }
            call.reply().whenComplete((f, e) -> answered(a, f, e));
        }

        private synchronized void answered(Attempt a, Codec.Frame f, Throwable e) {
            if (result.isDone() || a.done) {
                if (a.late && e == null) {
                    // A read's late answer: its latency is a sample as an
                    // answer in time would have been (see finish).
                    Health h = a.node.health;
                    h.lat[cl].observe(Math.min(Health.now() - a.sent, h.slowBound(slowFloor(), cl, 0)));
                }
                return;
            }
            end(a);
            cancel(a.slowTimer);
            if (e == null) {
                if (f.msg() instanceof Codec.Error err && err.code() == Codec.CODE_SHUTTING_DOWN) {
                    // Refused before it was acted on: safe to send elsewhere.
                    lost(a.node, new IOException(err.message()));
                    if (live.isEmpty()) {
                        launch(null, false);
                    }
                    return;
                }
                Health h = a.node.health;
                h.lat[cl].observe(Math.min(Health.now() - a.sent, h.slowBound(slowFloor(), cl, 0)));
                result.complete(f);
                return;
            }
            if (write) {
                kickRefresh();
                result.completeExceptionally(new UnknownOutcomeException("outcome unknown: " + op + " "
                        + quote(key) + ": " + e.getMessage(), 0, e));
                return;
            }
            if (closed.get()) {
                result.completeExceptionally(new ClientClosedException("memdb: the client is closed"));
                return;
            }
            // Reading twice is harmless: once more on a fresh connection of
            // the same node, then on the next node.
            lost(a.node, e);
            retry(a);
        }

        /**
         * After a ended without an answer, and without having been acted
         * on or being a read: unless another attempt may still answer, tries
         * a's node once more on a fresh connection, or the next node.
         */
        private void retry(Attempt a) {
            if (!live.isEmpty()) {
                return;
            }
            if (a.again) {
                launch(a.node, a.lastResort);
            } else {
                launch(null, false);
            }
        }

        /** The read is due to be hedged: it goes to the next node as well. */
        private synchronized void hedgeDue() {
            hedgeTimer = null;
            if (result.isDone() || live.size() != 1 || !live.get(0).inFlight) {
                return;
            }
            if (next >= order.nodes().size()) {
                return;
            }
            Attempt h = new Attempt(order.nodes().get(next), true, order.lastResort(next));
            next++;
            hedged.incrementAndGet();
            live.add(h);
            connect(h);
        }

        /** a is no longer live. */
        private void end(Attempt a) {
            a.done = true;
            live.remove(a);
        }

        private void lost(Node n, Throwable t) {
            failures.add(n.addr + ": " + t.getMessage());
            if (route != null) {
                kickRefresh();
            }
        }

        /**
         * Drops the waiters of attempts still live: their late replies are
         * discarded (but still heard, see Health), except a plain read's,
         * which is waited for its slow bound (at least LATE_WAIT_NANOS) and
         * sampled into its node's read latency, so that the estimate sees the
         * slow answers it hedged around rather than drifting low and hedging
         * more. Their slow bounds still judge their nodes when they come: a
         * read that a hedge answered must not leave its silent node looking
         * healthy.
         */
        private synchronized void finish() {
            cancel(hedgeTimer);
            for (Attempt a : live) {
                a.done = true;
                cancel(a.dialTimer);
                if (!a.inFlight) {
                    continue;
                }
                if (cl == Health.READ && track) {
                    a.late = true;
                    Connection conn = a.conn;
                    long id = a.id;
                    long wait = Math.max(a.node.health.slowBound(slowFloor(), cl, 0), LATE_WAIT_NANOS);
                    if (schedule(() -> conn.forget(id), wait) == null) {
                        conn.forget(id);
                    }
                } else {
                    a.conn.forget(a.id);
                }
            }
            live.clear();
        }

        private synchronized void timeout() {
            String m = op + " " + quote(key) + ": no answer within " + opts.timeout.toMillis() + " ms";
            MemDbTimeoutException t = new MemDbTimeoutException("timeout: " + m);
            // A write that was never queued certainly did not happen (and,
            // with the result done, never will be).
            result.completeExceptionally(write && queued
                    ? new UnknownOutcomeException("outcome unknown: " + m, 0, t)
                    : t);
        }
    }

    // ---- one increment ----

    /** An attempt waits at most 1/ATTEMPT_SHARE of the call's time left (at least MIN_ATTEMPT). */
    private static final int ATTEMPT_SHARE = 4;
    private static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** The backoff after an attempt that ended early doubles from FIRST_BACKOFF up to MAX_BACKOFF. */
    private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    /** The pause before attempt n (n ≥ 1): exponential, capped, jittered in its upper half. */
    static long backoffNanos(int n) {
        long d = Math.min(FIRST_BACKOFF_NANOS << Math.min(n - 1, 6), MAX_BACKOFF_NANOS);
        return d / 2 + java.util.concurrent.ThreadLocalRandom.current().nextLong(d / 2 + 1);
    }

    /**
     * One increment call, as the Go client makes it (client/counter.go).
     * Every attempt carries the call's operation id (the client's session,
     * the call's seq), the attempt's number and the milliseconds since the
     * call began. The first attempt goes to the nodes in order until one
     * takes it (nothing reached the others); every later attempt goes to
     * that node, which can tell whether it applied the operation. An
     * attempt whose outcome is unknown — unanswered for its share of the
     * call's time, its connection lost after sending, answered unknown
     * outcome (or shutting down, after the first) — is followed by the
     * next, after a backoff if it ended early, reconnecting as needed,
     * until the deadline: then the call is an UnknownOutcomeException.
     * Every method runs under the call's monitor.
     */
    private final class IncrCall {
        final String op;
        final String key;
        final byte[] k;
        final int level;
        final long delta;
        final long seq = counterSeq.incrementAndGet();
        final long began = System.nanoTime();
        /** The session clock when the call began: every attempt carries it. */
        final Timestamp first = session.now();
        final long deadline = began + opts.timeout.toNanos();
        final CompletableFuture<Codec.Frame> result = new CompletableFuture<>();
        final List<Node> order;
        final List<String> failures = new ArrayList<>();
        int next;
        long sent; // Health.now() when the attempt in flight was queued
        Node node; // where the attempt in flight went; every later one goes there once pinned
        boolean pinned; // an attempt was sent: the call keeps to node
        boolean again; // the first attempt may try node once more (its connection had broken)
        int attempt; // the number of the attempt in flight, or about to be sent
        Connection conn;
        long id;
        ScheduledFuture<?> attemptTimer;
        String unknown = ""; // why the last attempt's outcome is unknown

        IncrCall(String op, String key, byte[] k, int level, long delta) {
            this.op = op;
            this.key = key;
            this.k = k;
            this.level = level;
            this.delta = delta;
            this.order = order(k).nodes();
        }

        CompletableFuture<Codec.Frame> start() {
            ScheduledFuture<?> t = timer.schedule(this::timeout, opts.timeout.toNanos(), TimeUnit.NANOSECONDS);
            result.whenComplete((f, e) -> {
                t.cancel(false);
                synchronized (this) {
                    if (attemptTimer != null) {
                        attemptTimer.cancel(false);
                    }
                    if (conn != null && e != null) {
                        conn.forget(id);
                    }
                }
            });
            synchronized (this) {
                nextNode();
            }
            return result;
        }

        /** The first attempt, to the next node in order. */
        private void nextNode() {
            if (result.isDone()) {
                return;
            }
            if (next >= order.size()) {
                result.completeExceptionally(new UnreachableException(op + " " + quote(key) + ": unreachable: "
                        + String.join("; ", failures)));
                return;
            }
            node = order.get(next++);
            again = true;
            connect();
        }

        /** Gets a connection to node and sends the current attempt over it. */
        private void connect() {
            Node n = node;
            int a = attempt;
            n.connection().whenComplete((c, err) -> {
                synchronized (this) {
                    if (result.isDone() || a != attempt) {
                        return;
                    }
                    if (err == null) {
                        send(c);
                        return;
                    }
                    Throwable t = unwrap(err);
                    if (t instanceof AuthException || t instanceof ClientClosedException) {
                        result.completeExceptionally(pinned ? unknownOutcome(t) : t);
                        return;
                    }
                    if (!pinned) {
                        lost(n, t);
                        nextNode();
                        return;
                    }
                    unknown = n.addr + ": " + t.getMessage();
                    later();
                }
            });
        }

        private void send(Connection c) {
            Connection.Call call = c.send(Codec.incr(level, k, delta, counterSession, seq, attempt, first));
            if (call.reply().isCompletedExceptionally()) {
                // The connection had broken: nothing was sent.
                Throwable t = call.reply().handle((x, ex) -> unwrap(ex)).join();
                if (!pinned) {
                    lost(node, t);
                    if (again) {
                        again = false;
                        connect();
                    } else {
                        nextNode();
                    }
                    return;
                }
                unknown = node.addr + ": " + t.getMessage();
                later();
                return;
            }
            pinned = true;
            conn = c;
            id = call.id();
            sent = Health.now();
            int a = attempt;
            long left = deadline - System.nanoTime();
            attemptTimer = timer.schedule(() -> overdue(a), Math.max(left / ATTEMPT_SHARE, MIN_ATTEMPT_NANOS),
                    TimeUnit.NANOSECONDS);
            call.reply().whenComplete((f, e) -> answered(a, f, e));
        }

        private synchronized void answered(int a, Codec.Frame f, Throwable e) {
            if (result.isDone()) {
                return;
            }
            if (e == null && f.msg() instanceof Codec.CounterValue) {
                if (a == 0 && a == attempt) {
                    Health h = node.health;
                    h.lat[Health.WRITE].observe(Math.min(Health.now() - sent,
                            h.slowBound(slowFloor(), Health.WRITE, 0)));
                }
                // The answer of any attempt is the call's: all are one operation.
                result.complete(f);
                return;
            }
            if (a != attempt) {
                return; // an earlier attempt's failure: the one in flight decides
            }
            attemptTimer.cancel(false);
            if (e != null) {
                if (closed.get()) {
                    result.completeExceptionally(unknownOutcome(new ClientClosedException("memdb: the client is closed")));
                    return;
                }
                if (route != null) {
                    kickRefresh();
                }
                unknown = node.addr + ": " + e.getMessage();
                later();
                return;
            }
            if (f.msg() instanceof Codec.Error err) {
                if (err.code() == Codec.CODE_SHUTTING_DOWN && attempt == 0) {
                    // The only attempt was refused before it was acted on:
                    // nothing reached any node, so another may take it.
                    pinned = false;
                    lost(node, new IOException(err.message()));
                    nextNode();
                    return;
                }
                // Unavailable after the first attempt: this one applied
                // nothing, but an earlier one may have; still unknown.
                if (err.code() == Codec.CODE_UNKNOWN_OUTCOME || err.code() == Codec.CODE_SHUTTING_DOWN
                        || err.code() == Codec.CODE_UNAVAILABLE && attempt > 0) {
                    unknown = node.addr + ": " + err.message();
                    later();
                    return;
                }
            }
            result.complete(f);
        }

        /** The attempt in flight went unanswered for its share: the next goes now. */
        private synchronized void overdue(int a) {
            if (result.isDone() || a != attempt) {
                return;
            }
            conn.forget(id);
            if (tracking()) {
                // Never another node for the next attempt (only this one can
                // tell whether it applied the increment), but later calls go
                // elsewhere first if the node went silent.
                Client.this.overdue(node, sent);
            }
            unknown = node.addr + ": no answer to attempt " + a;
            if (nextAttempt()) {
                connect();
            }
        }

        /** The next attempt, after a backoff. */
        private void later() {
            if (!nextAttempt()) {
                return;
            }
            int a = attempt;
            timer.schedule(() -> {
                synchronized (this) {
                    if (!result.isDone() && a == attempt) {
                        connect();
                    }
                }
            }, backoffNanos(attempt), TimeUnit.NANOSECONDS);
        }

        private boolean nextAttempt() {
            if (attempt >= Codec.MAX_ATTEMPTS) {
                result.completeExceptionally(unknownOutcome(null));
                return false;
            }
            attempt++;
            return true;
        }

        private void lost(Node n, Throwable t) {
            failures.add(n.addr + ": " + t.getMessage());
            if (route != null) {
                kickRefresh();
            }
        }

        private UnknownOutcomeException unknownOutcome(Throwable cause) {
            return new UnknownOutcomeException("outcome unknown: " + op + " " + quote(key) + ": " + (attempt + 1)
                    + " attempt(s) to " + node.addr + ", never applied twice; last: " + unknown, 0, cause);
        }

        private synchronized void timeout() {
            String m = op + " " + quote(key) + ": no answer within " + opts.timeout.toMillis() + " ms";
            MemDbTimeoutException t = new MemDbTimeoutException("timeout: " + m);
            result.completeExceptionally(pinned ? unknownOutcome(t) : t);
        }
    }

    /**
     * The nodes a call about key (null: none) tries, in order: with a route,
     * key's replicas, then every other node known; without one, the seeds
     * from the one that answered last. Nodes that are down come last, and
     * with health tracking so do the slow ones, in the same order.
     */
    private Order order(byte[] k) {
        Route r = route;
        List<Node> list = new ArrayList<>();
        if (r != null && k != null) {
            for (int id : r.ring.replicasOf(Ring.hash(k), r.rf)) {
                Node n = r.nodes.get(id);
                if (n != null) {
                    list.add(n);
                }
            }
            for (Node n : r.all) {
                if (!list.contains(n)) {
                    list.add(n);
                }
            }
        } else {
            int start = preferred.get();
            for (int i = 0; i < seeds.size(); i++) {
                list.add(seeds.get((start + i) % seeds.size()));
            }
        }
        long now = System.nanoTime();
        boolean track = tracking();
        List<Node> up = new ArrayList<>(list.size());
        List<Node> later = new ArrayList<>();
        for (Node n : list) {
            (n.down(now) || track && n.health.isSlow() ? later : up).add(n);
        }
        int first = up.size();
        up.addAll(later);
        return new Order(up, first, r != null && k != null);
    }

    // ---- the ring ----

    /** Where each keyed call goes: a ring bound to nodes. Immutable. */
    private record Route(Ring ring, int rf, Map<Integer, Node> nodes, List<Node> all) {}

    private void kickRefresh() {
        long now = System.nanoTime();
        long last = lastKick.get();
        if (now - last >= KICK_GAP_NANOS && lastKick.compareAndSet(last, now)) {
            refreshInBackground();
        }
    }

    private void refreshInBackground() {
        if (closed.get() || !refreshing.compareAndSet(false, true)) {
            return;
        }
        try {
            background.execute(() -> {
                try {
                    learn();
                } catch (RuntimeException e) {
                    // A failed refresh leaves the route as it was.
                } finally {
                    refreshing.set(false);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            refreshing.set(false);
        }
    }

    /**
     * Asks the nodes in turn for the ring until one answers, and installs
     * what it says unless the client routes by a later epoch already. A
     * node that answers with an error (an old node that does not serve the
     * ring) ends the search: the client keeps what it had.
     */
    void learn() {
        Route r = route;
        List<Node> ask = r == null ? seeds : r.all;
        int start = r == null ? preferred.get() : (int) (asks.incrementAndGet() % ask.size());
        for (int i = 0; i < ask.size() && !closed.get(); i++) {
            Node n = ask.get((start + i) % ask.size());
            Codec.Frame f;
            try {
                Connection c = n.connection().get(opts.timeout.toMillis(), TimeUnit.MILLISECONDS);
                Connection.Call call = c.send(Codec.ring());
                try {
                    f = call.reply().get(opts.timeout.toMillis(), TimeUnit.MILLISECONDS);
                } finally {
                    c.forget(call.id());
                }
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (f.msg() instanceof Codec.Error e && e.code() == Codec.CODE_SHUTTING_DOWN) {
                continue;
            }
            if (f.msg() instanceof Codec.RingInfo info) {
                install(info);
            }
            return;
        }
    }

    private synchronized void install(Codec.RingInfo info) {
        if (info.replicas() == 0) {
            return;
        }
        Ring ring;
        try {
            ring = Ring.decode(info.ring());
        } catch (IllegalArgumentException e) {
            return;
        }
        Route old = route;
        if (old != null && Long.compareUnsigned(old.ring.epoch, ring.epoch) > 0) {
            return;
        }
        Map<Integer, String> addrs = new HashMap<>();
        for (Codec.NodeAddr a : info.addrs()) {
            if (dialable(a.addr())) {
                addrs.put(a.node(), a.addr());
            }
        }
        Map<Integer, Node> members = new HashMap<>();
        Set<Node> all = new LinkedHashSet<>();
        for (int id : ring.ids()) {
            String a = addrs.get(id);
            if (a != null) {
                Node n = node(a);
                members.put(id, n);
                all.add(n);
            }
        }
        if (members.isEmpty()) {
            return;
        }
        int[] joining = addrs.keySet().stream().mapToInt(Integer::intValue).filter(id -> !ring.has(id)).sorted()
                .toArray();
        for (int id : joining) {
            all.add(node(addrs.get(id)));
        }
        all.addAll(seeds);
        route = new Route(ring, info.replicas(), Map.copyOf(members), List.copyOf(all));
    }

    /** Whether addr names one host and a port this client can dial. */
    static boolean dialable(String addr) {
        int colon = addr.lastIndexOf(':');
        if (colon <= 0 || colon == addr.length() - 1) {
            return false;
        }
        String host = addr.substring(0, colon);
        return !(host.equals("0.0.0.0") || host.equals("[::]") || host.equals("::") || host.equals("[]"));
    }

    // ---- connections ----

    /** The connection to one node address: one, dialed when needed. */
    private final class Node {
        final String addr;
        private Connection conn;
        private CompletableFuture<Connection> dialing;
        private volatile long downUntil;
        private boolean nodeClosed;
        /** What calls and the connection have seen of the node. */
        final Health health = new Health();
        /** The last probe's answer, while awaited (see probe). */
        private CompletableFuture<Codec.Frame> probe;

        Node(String addr) {
            this.addr = addr;
        }

        boolean down(long now) {
            long until = downUntil;
            return until != 0 && now - until < 0;
        }

        /** A live connection, dialing one if needed; dials are shared. */
        synchronized CompletableFuture<Connection> connection() {
            Connection c = conn;
            if (c != null && c.alive()) {
                return CompletableFuture.completedFuture(c);
            }
            if (nodeClosed) {
                return CompletableFuture.failedFuture(new ClientClosedException("memdb: the client is closed"));
            }
            if (dialing != null) {
                return dialing;
            }
            CompletableFuture<Connection> d = new CompletableFuture<>();
            dialing = d;
            try {
                background.execute(() -> dial(d));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                dialing = null;
                return CompletableFuture.failedFuture(new ClientClosedException("memdb: the client is closed"));
            }
            return d;
        }

        private void dial(CompletableFuture<Connection> d) {
            Connection c = null;
            Throwable err = null;
            try {
                c = Connection.open(addr, key, session, (int) opts.timeout.toMillis(), opts.tls, health);
            } catch (IOException | RuntimeException e) {
                err = e;
            }
            synchronized (this) {
                dialing = null;
                if (c != null && nodeClosed) {
                    c.fail(new IOException("client closed"));
                    err = new ClientClosedException("memdb: the client is closed");
                    c = null;
                }
                if (c != null) {
                    conn = c;
                    downUntil = 0;
                } else if (!(err instanceof AuthException)) {
                    downUntil = System.nanoTime() + DOWN_NANOS;
                }
            }
            if (c != null) {
                d.complete(c);
            } else {
                d.completeExceptionally(err);
            }
        }

        /**
         * Asks the node for the ring, unless the last probe is still awaited:
         * whatever it answers is heard (see Health). A probe unanswered for
         * PROBE_TIMEOUT is forgotten.
         */
        synchronized void sendProbe() {
            if (probe != null && !probe.isDone()) {
                return;
            }
            CompletableFuture<Codec.Frame> p = new CompletableFuture<>();
            probe = p;
            connection().whenComplete((c, err) -> {
                if (err != null) {
                    p.complete(null);
                    return;
                }
                Connection.Call call = c.send(Codec.ring());
                call.reply().whenComplete((f, e) -> p.complete(f));
                if (schedule(() -> {
                    c.forget(call.id());
                    p.complete(null);
                }, Health.PROBE_TIMEOUT_NANOS) == null) {
                    c.forget(call.id());
                    p.complete(null);
                }
            });
        }

        void close() {
            Connection c;
            synchronized (this) {
                nodeClosed = true;
                c = conn;
                conn = null;
            }
            if (c != null) {
                c.fail(new IOException("client closed"));
            }
        }

        @Override
        public String toString() {
            return addr;
        }
    }

    /** For tests: the replicas the client would send key to first, by address. */
    List<String> routeOf(String key) {
        List<String> out = new ArrayList<>();
        for (Node n : order(keyBytes(key)).nodes()) {
            out.add(n.addr);
        }
        return out;
    }

    /** For tests: what the client has seen of the node at addr; null if it never met it. */
    Health healthOf(String addr) {
        Node n = nodes.get(addr);
        return n == null ? null : n.health;
    }

    /** For tests: whether the node at addr is down (its last dial failed, within a second). */
    boolean down(String addr) {
        Node n = nodes.get(addr);
        return n != null && n.down(System.nanoTime());
    }

    /** For tests: whether the client has learned the ring. */
    boolean routed() {
        return route != null;
    }

    @Override
    public String toString() {
        return "MemDb" + Arrays.toString(opts.seeds.toArray());
    }
}
