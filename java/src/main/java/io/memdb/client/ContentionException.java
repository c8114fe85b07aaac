package io.memdb.client;

/**
 * A cas, or a serial read or write, lost to other proposers of the same key until the node gave
 * up (code 11). It certainly did not take effect: calling again is safe.
 */
public class ContentionException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public ContentionException(String message) {
        super(message);
    }

    public ContentionException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
