package io.memdb.client;

/**
 * The client was closed before or while the call ran. A write in flight when it was closed is an
 * {@link UnknownOutcomeException} instead.
 */
public class ClientClosedException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public ClientClosedException(String message) {
        super(message);
    }

    public ClientClosedException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
