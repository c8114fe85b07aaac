package io.memdb.client;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A session with a memdb cluster: the MemDB seed's API over memdb's wire
 * protocol. Get one from {@link MemDbConnections}; it is safe for
 * concurrent use by many threads and meant to be shared, and closing it
 * closes its connections.
 *
 * <p>Keys and values are strings, sent as UTF-8 (or bytes, with the byte
 * variants). Keys are 1 to 65,535 bytes and values at most 8 MiB; a key or
 * value out of bounds is an IllegalArgumentException before anything is
 * sent. Keys starting with the bytes {@code \0memdb/} are the cluster's own.
 *
 * <p>Calls without a {@link Consistency} use the client's default
 * ({@link Options.Builder#consistency}, quorum unless set). A call is
 * bounded by the client's timeout ({@link Options.Builder#timeout}).
 * Failures are {@link MemDbException}s (unchecked); see there for which
 * means what. A write that may have happened is always an
 * {@link UnknownOutcomeException}, and the client never sends a write
 * twice; a read whose connection breaks is retried on another replica.
 *
 * <p>The async variants return at once. Their futures complete on the
 * client's I/O threads: a callback attached with thenApply and the like
 * runs there, so it must not block; use the ...Async forms of
 * CompletableFuture (or join on another thread) for blocking work.
 *
 * <p>Mixing serial writes (cas, a serial set) and plain writes on one key is
 * not linearizable, as in every Dynamo-style store: use one or the other per
 * key.
 */
public interface MemDb extends AutoCloseable {
    /** The value of key, or null if it has none (never written, or deleted). */
    String get(String key);

    /** The value of key read at level c, or null if it has none. */
    String get(String key, Consistency c);

    /** The value of key as bytes, or null if it has none. */
    byte[] getBytes(String key, Consistency c);

    /**
     * Sends a quorum read of key now; its answer is awaited with
     * {@link Pending#awaitQuorum}, which gives an empty Optional if the key
     * has no value and throws {@link QuorumNotReachedException} if fewer
     * than a quorum of its replicas answered.
     */
    Pending<String> quorumGet(String key);

    /** Writes value under key. */
    void set(String key, String value);

    void set(String key, String value, Consistency c);

    void set(String key, byte[] value, Consistency c);

    /** Removes key (it writes a tombstone); removing an absent key succeeds. */
    void delete(String key);

    void delete(String key, Consistency c);

    /** Whether key has a value. */
    boolean contains(String key);

    boolean contains(String key, Consistency c);

    /**
     * Sets key to newValue if its value is oldValue, and says whether it did;
     * oldValue null means "only if key has no value". Linearizable: the
     * key's replicas agree on it through a Paxos round, whatever the
     * consistency level. Throws {@link ContentionException} if it lost to
     * other proposers (not applied, safe to retry) and
     * {@link UnknownOutcomeException} if no answer says whether it swapped.
     */
    boolean cas(String key, String oldValue, String newValue);

    /** cas with byte values; oldValue null means "only if absent". */
    boolean casBytes(String key, byte[] oldValue, byte[] newValue);

    /**
     * Adds 1 to the counter key and returns its new value. Counters are not
     * supported by this server version: it throws {@link NotSupportedException}.
     */
    long incr(String key);

    /** Adds delta to the counter key; see {@link #incr(String)}. */
    long incr(String key, long delta);

    /** Subtracts 1 from the counter key; see {@link #incr(String)}. */
    long decr(String key);

    /** Subtracts delta from the counter key; see {@link #incr(String)}. */
    long decr(String key, long delta);

    /**
     * A quorum read of the counter key, as an int: the MemDB seed's
     * {@code int counterValue = memDb.getQuorumCounter("counter")
     * .awaitQuorum(2, TimeUnit.SECONDS).orElseThrow(...)} compiles as
     * written (a value outside int's range is an error, not a wrap; see
     * {@link #getQuorumCounterLong}). Counters are not supported by this
     * server version: it throws {@link NotSupportedException}.
     */
    Pending<Integer> getQuorumCounter(String key);

    /**
     * A quorum read of the counter key, at its full 64 bits. Counters are
     * not supported by this server version: it throws
     * {@link NotSupportedException}.
     */
    Pending<Long> getQuorumCounterLong(String key);

    CompletableFuture<Optional<String>> getAsync(String key);

    CompletableFuture<Optional<String>> getAsync(String key, Consistency c);

    CompletableFuture<Optional<byte[]>> getBytesAsync(String key, Consistency c);

    CompletableFuture<Void> setAsync(String key, String value);

    CompletableFuture<Void> setAsync(String key, String value, Consistency c);

    CompletableFuture<Void> setAsync(String key, byte[] value, Consistency c);

    CompletableFuture<Void> deleteAsync(String key);

    CompletableFuture<Void> deleteAsync(String key, Consistency c);

    CompletableFuture<Boolean> containsAsync(String key);

    CompletableFuture<Boolean> containsAsync(String key, Consistency c);

    CompletableFuture<Boolean> casAsync(String key, String oldValue, String newValue);

    CompletableFuture<Boolean> casBytesAsync(String key, byte[] oldValue, byte[] newValue);

    /**
     * Closes every connection. Calls in flight fail: a write with
     * {@link UnknownOutcomeException}, a read with
     * {@link ClientClosedException}; later calls with ClientClosedException.
     * Idempotent.
     */
    @Override
    void close();
}
