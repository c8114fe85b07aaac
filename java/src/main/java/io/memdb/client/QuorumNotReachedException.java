package io.memdb.client;

/**
 * Not enough replicas answered for the consistency level (the node's code 6, unavailable);
 * nothing was written.
 */
public class QuorumNotReachedException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public QuorumNotReachedException(String message) {
        super(message);
    }

    public QuorumNotReachedException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
