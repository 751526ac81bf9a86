package dev.tfmq.harness.eval;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Turns generated images into the features the quality metrics use. Images are [B, C, H, W] float32 in [0, 1].
 * Implementations are not required to be thread-safe; the harness calls one from one thread.
 */
public interface ImageFeaturizer {
    /** Identifier recorded with every metric value. */
    String name();

    int pooledDim();

    /** 0 when there are no spatial features (then no sFID). */
    int spatialDim();

    Extracted extract(INDArray images01);

    /** @param spatial [B, S] or null */
    record Extracted(INDArray pooled, INDArray spatial) {}
}
