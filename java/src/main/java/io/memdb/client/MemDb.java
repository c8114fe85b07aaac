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
     * Adds 1 to the counter key and returns its new value (the value just
     * after the increment, at the replica that applied it); a key never
     * incremented counts from 0. A counter is its own kind of value: on a
     * key that holds a plain value this throws {@link WrongKindException},
     * as get and set of a counter do.
     *
     * <p>An increment is never applied twice, however often it is sent:
     * every attempt of one call carries the same operation id (the client's
     * random session and a number per call). So, unlike every other write,
     * an increment whose outcome is unknown (no answer in time, a lost
     * connection, the node's "unknown outcome") is sent again by the client
     * — to the node that got its first attempt, which knows whether it
     * applied it — until the call's timeout; only then does it throw
     * {@link UnknownOutcomeException} (the increment may or may not have
     * been applied, never twice). Definite failures ({@link
     * QuorumNotReachedException}: nothing applied; WrongKindException;
     * {@link NotSupportedException}, for one that would overflow a long)
     * are thrown at once. At the client's default level, which must not be
     * SERIAL (counters are not made through Paxos).
     */
    long incr(String key);

    /**
     * Writes every entry of writes atomically: each key set to its value (a
     * null value deletes the key), all at one version, or none of them
     * (memdb's batches; net/doc.go kind 17). Reads at QUORUM, ALL and SERIAL
     * never see part of a batch. At most 128 keys and 4 MiB of keys and
     * values, and no counter; anything else is an IllegalArgumentException
     * before anything is sent. The consistency level does not apply: a batch
     * always needs a quorum of every key's replicas.
     *
     * <p>A batch carries a token drawn per call, and an attempt whose outcome
     * is unknown is sent again, with the same token, until the call's
     * timeout: a batch is never applied twice. Throws {@link
     * AbortedException} if it was aborted (nothing applied, ever), {@link
     * UnknownOutcomeException} if no attempt's outcome was known in time
     * (applied whole, or not at all), {@link QuorumNotReachedException} if
     * too few replicas of some key were up (nothing written).
     */
    void batch(java.util.Map<String, String> writes);

    /** {@link #batch} with byte values (null deletes the key). */
    void batchBytes(java.util.Map<String, byte[]> writes);

    /**
     * Adds delta (negative: subtracts) to the counter key; see {@link
     * #incr(String)}. A delta of 0 is an IllegalArgumentException: read the
     * counter with {@link #counter}.
     */
    long incr(String key, long delta);

    /** incr at level c: ONE, QUORUM or ALL (SERIAL is an IllegalArgumentException). */
    long incr(String key, long delta, Consistency c);

    /** Subtracts 1 from the counter key; see {@link #incr(String)}. */
    long decr(String key);

    /**
     * Subtracts delta from the counter key; see {@link #incr(String)}. A
     * delta of 0 or Long.MIN_VALUE is an IllegalArgumentException.
     */
    long decr(String key, long delta);

    /**
     * The value of the counter key read at level c (ONE, QUORUM or ALL): 0
     * for a key never incremented. A read: retried on another replica if
     * its connection breaks.
     */
    long counter(String key, Consistency c);

    /**
     * Sends a quorum read of the counter key now, as an int: the MemDB
     * seed's {@code int counterValue = memDb.getQuorumCounter("counter")
     * .awaitQuorum(2, TimeUnit.SECONDS).orElseThrow(...)} compiles as
     * written. The Optional always holds a value (0 for a key never
     * incremented); a value outside int's range fails awaitQuorum with a
     * MemDbException rather than wrap (see {@link #getQuorumCounterLong}).
     * {@link Pending#awaitQuorum} throws {@link QuorumNotReachedException}
     * if fewer than a quorum of the key's replicas answered.
     */
    Pending<Integer> getQuorumCounter(String key);

    /** A quorum read of the counter key, at its full 64 bits; see {@link #getQuorumCounter}. */
    Pending<Long> getQuorumCounterLong(String key);

    /** incr, answered by a future (see the class comment on async variants). */
    CompletableFuture<Long> incrAsync(String key, long delta, Consistency c);

    /** counter, answered by a future. */
    CompletableFuture<Long> counterAsync(String key, Consistency c);

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
