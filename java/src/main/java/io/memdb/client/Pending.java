package io.memdb.client;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A read already sent, whose answer is awaited: what {@link MemDb#quorumGet}
 * and {@link MemDb#getQuorumCounter} return.
 *
 * @param <T> the type of the value read
 */
public final class Pending<T> {
    private final CompletableFuture<Optional<T>> future;

    Pending(CompletableFuture<Optional<T>> future) {
        this.future = future;
    }

    /**
     * Waits up to timeout for the answer of a quorum of the key's replicas.
     *
     * @return the value, or an empty Optional if the key has none (never
     *     written, or deleted): absence is an answer, not a failure
     * @throws QuorumNotReachedException if fewer than a quorum of replicas answered
     * @throws MemDbTimeoutException if no answer came within timeout (or the call's own timeout)
     * @throws MemDbException for any other failure (see its subclasses)
     */
    public Optional<T> awaitQuorum(long timeout, TimeUnit unit) {
        try {
            return future.get(timeout, unit);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new MemDbTimeoutException("no answer from a quorum within " + timeout + " "
                    + unit.toString().toLowerCase(), 0, e);
        } catch (ExecutionException e) {
            throw Client.rethrow(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MemDbException("interrupted while waiting for a quorum", 0, e);
        }
    }

    /** The answer as a future, for composing. */
    public CompletableFuture<Optional<T>> future() {
        return future;
    }
}
