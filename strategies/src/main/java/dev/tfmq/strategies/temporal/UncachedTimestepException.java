package dev.tfmq.strategies.temporal;

/** A sampler asked for temporal features at a time-step the cache was not built for. */
public final class UncachedTimestepException extends IllegalStateException {
    private final long timestep;

    public UncachedTimestepException(long timestep, String detail) {
        super("temporal-feature cache has no entry for time-step " + timestep + " (" + detail
                + "); build the cache for this sampler's schedule or set uncached = fallback to compute it with the TIB");
        this.timestep = timestep;
    }

    public long timestep() { return timestep; }
}
