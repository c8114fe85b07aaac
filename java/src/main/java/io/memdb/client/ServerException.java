package io.memdb.client;

/**
 * A node answered with an error this client has no more specific exception for; {@link #code()}
 * is the wire protocol's code (net/doc.go, "Errors").
 */
public class ServerException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public ServerException(String message) {
        super(message);
    }

    public ServerException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
