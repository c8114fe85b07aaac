package io.memdb.client;

/**
 * A write (set, delete, cas, incr) was sent, and no answer says whether it happened: its connection
 * broke, it timed out, or the node itself timed out waiting for replicas (code 7). The client
 * never retries a write on its own, but for an increment, which it resends to the same node with
 * the same operation id until the timeout (it is never applied twice): read the key to find out,
 * or repeat the write if repeating is harmless. {@link #isTimeout()} says whether the call ran out of time.
 */
public class UnknownOutcomeException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public UnknownOutcomeException(String message) {
        super(message);
    }

    public UnknownOutcomeException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }

    /** Whether the call ran out of time; its cause is then a {@link MemDbTimeoutException}. */
    public boolean isTimeout() {
        return getCause() instanceof MemDbTimeoutException;
    }
}
