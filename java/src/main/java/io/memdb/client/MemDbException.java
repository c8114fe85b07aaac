package io.memdb.client;

/**
 * The base of every exception a {@link MemDb} throws. It is unchecked, as
 * the seed's API has no throws clauses. Subclasses say what went wrong and
 * whether a write may have happened:
 *
 * <ul>
 *   <li>{@link QuorumNotReachedException}: too few replicas answered; nothing was written.
 *   <li>{@link UnknownOutcomeException}: a write was sent and no answer says whether it
 *       happened. It is never retried by the client, but for an increment, which the client
 *       retries at its node until the timeout (exactly once, whatever the number of attempts).
 *   <li>{@link ContentionException}: a cas or serial call lost to other proposers; it did
 *       not take effect, so calling again is safe.
 *   <li>{@link MemDbTimeoutException}: a read got no answer in time.
 *   <li>{@link AuthException}: a node refused the client key, or could not prove it knows it.
 *   <li>{@link UnreachableException}: no node the call tried could be reached.
 *   <li>{@link NotSupportedException}: the server does not support the operation.
 *   <li>{@link WrongKindException}: the key holds a counter and the call wants a plain value, or
 *       the other way round.
 *   <li>{@link ServerException}: any other error a node answered with; see {@link #code()}.
 *   <li>{@link ClientClosedException}: the client was closed.
 * </ul>
 *
 * A key that is absent is not an exception: get returns null, and
 * quorumGet's result an empty Optional.
 */
public class MemDbException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int code;

    public MemDbException(String message) {
        this(message, 0, null);
    }

    public MemDbException(String message, int code, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /**
     * The wire protocol's error code the node answered with (net/doc.go,
     * "Errors"), or 0 if the exception was not a node's answer.
     */
    public int code() {
        return code;
    }
}
