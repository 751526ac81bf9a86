package dev.tfmq.strategies.recipe;

/**
 * Receives progress of a quantization run (phase names: calibration-data, weights, tiar, blocks, activations,
 * activation-steps, temporal, bias-correction).
 *
 * <p>{@link #onProgress} announces a phase or a unit of work (one line each); {@link #onWork} reports how far a
 * long loop inside it has come. Loops may call {@code onWork} on every iteration: it must be cheap, and a listener
 * that renders it throttles on its own. Reporting never changes what is computed.
 */
@FunctionalInterface
public interface ProgressListener {
    void onProgress(String phase, String detail);

    /**
     * Counted work inside a phase: {@code done} of {@code total} {@code unit}s of {@code item}.
     *
     * @param phase as in {@link #onProgress} (e.g. {@code blocks})
     * @param item  what is being worked on within the phase, e.g. the unit being reconstructed
     *              ({@code down_blocks.0.resnets.0}, {@code TIB}) or {@code trajectories}; never null
     * @param done  counts done so far, from 0 up to {@code total}; a loop reports 0 when it starts and
     *              {@code total} when it ends
     * @param total counts in all (at least 0)
     * @param unit  what is counted: {@code iterations}, {@code sample-steps}, {@code samples}, ...
     */
    default void onWork(String phase, String item, long done, long total, String unit) { }

    ProgressListener NONE = (p, d) -> { };
}
