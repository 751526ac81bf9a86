package dev.tfmq.metrics.features;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a feature network gives for a batch of B images.
 *
 * @param pooled  [B, D] pooled features (FID, KID, precision/recall)
 * @param spatial [B, S] flattened spatial features (sFID), or null when the network has no spatial tap
 * @param logits  [B, K] class logits (Inception Score), or null
 */
public record Features(INDArray pooled, INDArray spatial, INDArray logits) {
    public Features {
        if (pooled == null || pooled.rank() != 2) throw new IllegalArgumentException("pooled features must be [B, D]");
        long b = pooled.rows();
        if (spatial != null && (spatial.rank() != 2 || spatial.rows() != b)) {
            throw new IllegalArgumentException("spatial features must be [" + b + ", S]");
        }
        if (logits != null && (logits.rank() != 2 || logits.rows() != b)) {
            throw new IllegalArgumentException("logits must be [" + b + ", K]");
        }
    }

    public int batchSize() { return pooled.rows(); }
}
