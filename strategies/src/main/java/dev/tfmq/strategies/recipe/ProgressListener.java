package dev.tfmq.strategies.recipe;

/** Receives progress of a quantization run (phase names: calibration-data, weights, tiar, blocks, activations, temporal). */
@FunctionalInterface
public interface ProgressListener {
    void onProgress(String phase, String detail);

    ProgressListener NONE = (p, d) -> { };
}
