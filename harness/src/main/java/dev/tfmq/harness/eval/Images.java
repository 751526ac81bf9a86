package dev.tfmq.harness.eval;

import dev.tfmq.model.data.PixelRange;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Generated samples ([-1, 1] floats) as the metrics see them: quantized to 8 bits exactly as a PNG of the sample
 * would be ({@link PixelRange#toByte}), then v / 255 in [0, 1] — so metrics on in-memory samples equal metrics on
 * the saved images.
 */
public final class Images {
    private Images() {}

    public static INDArray toUnitRange(Tensor samples) {
        float[] in = samples.data();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) out[i] = PixelRange.MINUS_ONE_ONE.toByte(in[i]) / 255f;
        return Nd4j.create(out, samples.shape().clone(), DataType.FLOAT);
    }
}
