package io.memdb.client;

/**
 * A batch was aborted (code 15): none of its writes applied, nor ever will. Some key's
 * replicas did not take it in time; the batch may be sent again as a new one.
 */
public class AbortedException extends MemDbException {
    private static final long serialVersionUID = 1L;

    public AbortedException(String message, int code, Throwable cause) {
        super(message, code, cause);
    }
}
