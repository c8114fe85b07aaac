package io.memdb.client;

/**
 * The server does not support the operation: a node answered code 9 (unsupported; for example a
 * serial delete, a key reserved for the cluster, or an increment of 0).
 */
public class NotSupportedException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public NotSupportedException(String message) {
        super(message);
    }

    public NotSupportedException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
