package io.memdb.client;

/**
 * A node refused the client key (code 4), or answered without proving that it knows the key itself.
 */
public class AuthException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public AuthException(String message) {
        super(message);
    }

    public AuthException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
