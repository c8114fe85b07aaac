package io.memdb.client;

/**
 * A read got no answer within its time. (A write that times out is an {@link
 * UnknownOutcomeException} whose {@link UnknownOutcomeException#isTimeout()} is true: it may have
 * happened.) Named so as not to clash with java.util.concurrent.TimeoutException.
 */
public class MemDbTimeoutException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public MemDbTimeoutException(String message) {
        super(message);
    }

    public MemDbTimeoutException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
