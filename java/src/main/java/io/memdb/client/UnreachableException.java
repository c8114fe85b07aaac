package io.memdb.client;

/**
 * No node the call tried could be connected to and authenticated with, or every one was shutting
 * down. The message lists what went wrong with each.
 */
public class UnreachableException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public UnreachableException(String message) {
        super(message);
    }

    public UnreachableException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
