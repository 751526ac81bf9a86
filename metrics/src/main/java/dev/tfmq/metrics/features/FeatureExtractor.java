package dev.tfmq.metrics.features;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A network that turns images into features for the metrics. Images are float [B, C, H, W] in [0, 1]; use
 * {@link #fromUint8} for 8-bit pixels. Implementations own their preprocessing (normalisation, resizing) and must
 * document it exactly, because FID values are only comparable under identical preprocessing.
 */
public interface FeatureExtractor {
    /** Identifier recorded with every metric (e.g. "fmnist-features"). */
    String name();

    int pooledDim();

    /** Dimension of the spatial features, 0 when there are none. */
    int spatialDim();

    /** Number of logits, 0 when there are none. */
    int numClasses();

    Features extract(INDArray images);

    /** uint8 pixel values [0, 255] to float32 [0, 1] (value / 255, no rounding games). */
    static INDArray fromUint8(INDArray pixels) {
        return pixels.castTo(DataType.FLOAT).divi(255f);
    }
}
