package dev.tfmq.metrics.features;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Alias-free bilinear resampling of [B, C, H, W] images, separable, computed in double.
 *
 * <p>Each output pixel i samples the input around centre (i + ½)·s (s = in/out) with a triangle filter of radius
 * max(1, s), weights normalised over the input pixels that exist. When upsampling (s ≤ 1) this is exactly bilinear
 * interpolation with half-pixel centres ({@code F.interpolate(mode="bilinear", align_corners=False)}, what
 * pytorch-fid applies before Inception); when downsampling the filter widens with the scale, as PIL's bilinear and
 * torch's {@code antialias=True} do, so high frequencies are averaged instead of aliased (clean-fid's point about
 * library resizers).
 */
public final class Resize {
    private Resize() {}

    /** Filter taps for one axis: output i reads input [start[i], start[i] + weights[i].length). */
    private record Taps(int[] start, double[][] weights) {}

    private static Taps taps(int in, int out) {
        double scale = (double) in / out;
        double support = Math.max(1.0, scale);
        double inv = scale >= 1 ? 1 / scale : 1.0;
        int[] start = new int[out];
        double[][] w = new double[out][];
        for (int i = 0; i < out; i++) {
            double centre = scale * (i + 0.5);
            int lo = Math.max((int) (centre - support + 0.5), 0);
            int hi = Math.min((int) (centre + support + 0.5), in);
            double[] wi = new double[Math.max(hi - lo, 1)];
            double total = 0;
            for (int j = 0; j < hi - lo; j++) {
                double x = (j + lo - centre + 0.5) * inv;
                wi[j] = Math.max(0, 1 - Math.abs(x));
                total += wi[j];
            }
            if (total > 0) {
                for (int j = 0; j < wi.length; j++) wi[j] /= total;
            } else {
                wi[0] = 1;
            }
            start[i] = lo;
            w[i] = wi;
        }
        return new Taps(start, w);
    }

    /** Resizes to outH × outW; returns float32 [B, C, outH, outW]. */
    public static INDArray bilinear(INDArray images, int outH, int outW) {
        if (images.rank() != 4) throw new IllegalArgumentException("images must be [B, C, H, W]");
        int b = (int) images.size(0);
        int c = (int) images.size(1);
        int h = (int) images.size(2);
        int w = (int) images.size(3);
        double[] src = images.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        Taps tx = taps(w, outW);
        Taps ty = taps(h, outH);
        float[] dst = new float[b * c * outH * outW];
        double[] rows = new double[h * outW];
        for (int p = 0; p < b * c; p++) {
            int base = p * h * w;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < outW; x++) {
                    double s = 0;
                    double[] wx = tx.weights[x];
                    int x0 = base + y * w + tx.start[x];
                    for (int k = 0; k < wx.length; k++) s += wx[k] * src[x0 + k];
                    rows[y * outW + x] = s;
                }
            }
            int out = p * outH * outW;
            for (int y = 0; y < outH; y++) {
                double[] wy = ty.weights[y];
                int y0 = ty.start[y];
                for (int x = 0; x < outW; x++) {
                    double s = 0;
                    for (int k = 0; k < wy.length; k++) s += wy[k] * rows[(y0 + k) * outW + x];
                    dst[out + y * outW + x] = (float) s;
                }
            }
        }
        return Nd4j.create(dst, new long[] {b, c, outH, outW}, 'c');
    }
}
