package dev.tfmq.strategies.bias;

import dev.tfmq.model.nn.Module;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.FloatAccess;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bias correction of a quantized model: per layer and output channel, the offset δ subtracted from the layer's
 * full-precision bias. The installed bias is always rebuilt as {@code (dtype) (b_fp − δ)} from the FP bias (in
 * double) and the stored offsets, the same arithmetic in the recipe run, after an artifact round trip and in the
 * PyTorch port, so the outputs are bit-identical.
 */
public final class BiasOffsets {
    private final UNet2DModel model;
    private final Map<String, double[]> offsets = new LinkedHashMap<>();
    /** FP biases of the layers with an offset, read when the offset was first set. */
    private final Map<String, double[]> fpBias = new LinkedHashMap<>();

    /** No offsets yet, for {@code model} in its full-precision biases. */
    public BiasOffsets(UNet2DModel model) {
        this.model = model;
    }

    /**
     * Sets (replaces) one layer's offsets; {@link #install} puts them into the model. The layer's bias must still
     * be its full-precision one the first time, which is why it is read here.
     */
    public void set(String path, double[] delta) {
        Module m = model.module(path);
        int channels = OutputChannels.of(m);
        if (delta.length != channels) {
            throw new IllegalArgumentException("layer '" + path + "': " + delta.length + " offsets for " + channels + " output channels");
        }
        for (double d : delta) {
            if (!Double.isFinite(d)) throw new IllegalArgumentException("layer '" + path + "': offset " + d + " is not finite");
        }
        fpBias.computeIfAbsent(path, p -> FloatAccess.toDoubles(OutputChannels.bias(m)));
        offsets.put(path, delta.clone());
    }

    public boolean isEmpty() { return offsets.isEmpty(); }

    /** Layer path → offsets (copies), in the order they were set (forward order for a recipe run). */
    public Map<String, double[]> offsets() {
        Map<String, double[]> m = new LinkedHashMap<>();
        offsets.forEach((p, d) -> m.put(p, d.clone()));
        return Collections.unmodifiableMap(m);
    }

    /** Installs b_fp − δ into every layer with offsets. */
    public void install() {
        for (String p : offsets.keySet()) install(p);
    }

    /** Installs one layer's corrected bias. */
    public void install(String path) {
        double[] d = offsets.get(path);
        if (d == null) throw new IllegalArgumentException("layer '" + path + "' has no bias offsets");
        double[] b = fpBias.get(path);
        double[] corrected = new double[b.length];
        for (int c = 0; c < b.length; c++) corrected[c] = b[c] - d[c];
        Module m = model.module(path);
        INDArray fp = OutputChannels.bias(m);
        OutputChannels.setBias(m, Nd4j.createFromArray(corrected).castTo(fp.dataType()).reshape(fp.shape()));
    }

    /** Puts the full-precision biases back. */
    public void restore() {
        for (Map.Entry<String, double[]> e : fpBias.entrySet()) {
            Module m = model.module(e.getKey());
            INDArray now = OutputChannels.bias(m);
            OutputChannels.setBias(m, Nd4j.createFromArray(e.getValue()).castTo(now.dataType()).reshape(now.shape()));
        }
    }
}
