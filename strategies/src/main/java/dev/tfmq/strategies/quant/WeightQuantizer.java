package dev.tfmq.strategies.quant;

import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-output-channel weight quantization of one Conv2d or Linear. Keeps the full-precision weight, the grid and
 * the integer codes; the fake-quantized weight Δ_c·(q − z_c) is installed into the live layer with
 * {@code setWeight}, so the real forward pass computes with it, and {@link #restore} puts the FP weight back.
 * The installed weight is always rebuilt from (grid, codes), which is why an artifact that stores exactly those
 * reproduces the same bits.
 */
public final class WeightQuantizer {
    private final Module layer;
    private final INDArray fpWeight;
    private final double[] fp;
    private final int channels;
    private QuantGrid grid;
    private int[] codes;

    public WeightQuantizer(Module layer) {
        if (!(layer instanceof Conv2d) && !(layer instanceof Linear)) {
            throw new IllegalArgumentException("module '" + layer.path() + "' (" + layer.kind() + ") has no weight to quantize");
        }
        this.layer = layer;
        this.fpWeight = currentWeight().dup('c');
        this.fp = FloatAccess.toDoubles(fpWeight);
        this.channels = (int) fpWeight.size(0);
    }

    public String path() { return layer.path(); }

    public Module layer() { return layer; }

    public long[] shape() { return fpWeight.shape(); }

    public int channels() { return channels; }

    /** The full-precision weight values, [out, rest] in C order (a copy). */
    public double[] fpValues() { return fp.clone(); }

    public INDArray fpWeight() { return fpWeight; }

    public QuantGrid grid() { return grid; }

    public int[] codes() { return codes == null ? null : codes.clone(); }

    public boolean isInitialized() { return grid != null; }

    /** Finds the grid and rounds every weight to the nearest code. */
    public void initialize(int bits, WeightInit init) {
        grid = init == WeightInit.MSE ? UniformAffineQuantizer.perChannelMse(fp, channels, bits)
                : UniformAffineQuantizer.perChannelMinMax(fp, channels, bits);
        codes = UniformAffineQuantizer.codes(fp, grid);
    }

    /** Installs a grid and codes (reconstruction's final rounding, or an artifact). */
    public void set(QuantGrid g, int[] c) {
        if (g.channels() != channels) {
            throw new IllegalArgumentException(path() + ": grid has " + g.channels() + " channels, weight has " + channels);
        }
        if (c.length != fp.length) {
            throw new IllegalArgumentException(path() + ": " + c.length + " codes for " + fp.length + " weights");
        }
        int max = g.maxCode();
        for (int i = 0; i < c.length; i++) {
            if (c[i] < 0 || c[i] > max) {
                throw new IllegalArgumentException(path() + ": code " + c[i] + " at " + i + " is outside [0, " + max + "]");
            }
        }
        grid = g;
        codes = c.clone();
    }

    /** The fake-quantized weight in the layer's shape and type. */
    public INDArray quantizedWeight() {
        if (grid == null) throw new IllegalStateException(path() + ": weight quantizer is not initialised");
        double[] deq = UniformAffineQuantizer.dequantize(codes, grid);
        INDArray w = Nd4j.create(fpWeight.dataType(), fpWeight.shape(), 'c');
        FloatAccess f = FloatAccess.of(w);
        for (int i = 0; i < deq.length; i++) f.set(i, deq[i]);
        return w;
    }

    /** Uses the fake-quantized weight in the live layer. */
    public void apply() { setWeight(quantizedWeight()); }

    /** Puts the full-precision weight back. */
    public void restore() { setWeight(fpWeight.dup('c')); }

    /** Installs an arbitrary weight of the layer's shape (reconstruction's soft-rounded weights). */
    public void setWeight(INDArray w) {
        if (layer instanceof Conv2d c) c.setWeight(w);
        else ((Linear) layer).setWeight(w);
    }

    private INDArray currentWeight() {
        return layer instanceof Conv2d c ? c.weight() : ((Linear) layer).weight();
    }
}
