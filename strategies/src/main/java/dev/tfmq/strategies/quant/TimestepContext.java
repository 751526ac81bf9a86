package dev.tfmq.strategies.quant;

/**
 * The time-step of the forward pass that is about to run. Module hooks only see tensors, so per-time-step
 * activation tables (FSC) read the current time-step here; {@code QuantizedModel.predict} sets it before every
 * UNet call, and calibration loops set it for each batch.
 */
public final class TimestepContext {
    private long current = -1;

    public void set(long timestep) {
        if (timestep < 0) throw new IllegalArgumentException("time-step must be >= 0, got " + timestep);
        current = timestep;
    }

    public void clear() { current = -1; }

    public boolean isSet() { return current >= 0; }

    /** The current time-step; fails when no caller has set one. */
    public long current(String who) {
        if (current < 0) {
            throw new IllegalStateException(who + " has per-time-step parameters but no time-step is set: run the "
                    + "model through QuantizedModel.predict (or set the TimestepContext before each forward pass)");
        }
        return current;
    }
}
