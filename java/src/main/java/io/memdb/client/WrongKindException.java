package io.memdb.client;

/**
 * The key holds another kind of value than the call works on (code 13): an incr, decr or counter
 * read of a key that holds a plain value, or a get, set or delete of a key that holds a counter.
 * Nothing was changed.
 */
public class WrongKindException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public WrongKindException(String message) {
        super(message);
    }

    public WrongKindException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
