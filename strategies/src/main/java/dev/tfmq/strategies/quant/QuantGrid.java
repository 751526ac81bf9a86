package dev.tfmq.strategies.quant;

import java.util.Arrays;

/**
 * The parameters of an asymmetric uniform grid: {@code bits}, one step size Δ and one integer zero point z per
 * channel (a single entry for per-tensor grids). A value x maps to the code q = clip(⌊x/Δ⌉ + z, 0, 2^b − 1) and
 * back to Δ·(q − z).
 */
public record QuantGrid(int bits, double[] scales, int[] zeroPoints) {
    public QuantGrid {
        UniformAffineQuantizer.checkBits(bits, "grid");
        if (scales.length != zeroPoints.length || scales.length == 0) {
            throw new IllegalArgumentException("grid needs as many scales as zero points (>= 1), got "
                    + scales.length + " and " + zeroPoints.length);
        }
        for (int c = 0; c < scales.length; c++) {
            if (!(scales[c] > 0) || Double.isInfinite(scales[c])) {
                throw new IllegalArgumentException("grid scale " + scales[c] + " at channel " + c + " is not a positive finite number");
            }
        }
        scales = scales.clone();
        zeroPoints = zeroPoints.clone();
    }

    public static QuantGrid perTensor(int bits, double scale, int zeroPoint) {
        return new QuantGrid(bits, new double[] {scale}, new int[] {zeroPoint});
    }

    public int channels() { return scales.length; }

    public int maxCode() { return (1 << bits) - 1; }

    public double scale(int c) { return scales[c]; }

    public int zeroPoint(int c) { return zeroPoints[c]; }

    @Override
    public double[] scales() { return scales.clone(); }

    @Override
    public int[] zeroPoints() { return zeroPoints.clone(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantGrid g && g.bits == bits && Arrays.equals(g.scales, scales)
                && Arrays.equals(g.zeroPoints, zeroPoints);
    }

    @Override
    public int hashCode() { return Arrays.hashCode(scales) * 31 + Arrays.hashCode(zeroPoints) + bits; }

    @Override
    public String toString() {
        return channels() == 1 ? "QuantGrid[" + bits + " bit, Δ=" + scales[0] + ", z=" + zeroPoints[0] + "]"
                : "QuantGrid[" + bits + " bit, " + channels() + " channels]";
    }
}
