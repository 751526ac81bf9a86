package dev.tfmq.strategies.quant;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class UniformAffineQuantizerTest {

    @Test
    void codesAndDequantizationOnAnExactGrid() {
        // Δ = 0.25, z = 3, 3 bits: codes 0..7 represent −0.75 .. 1.0
        for (int q = 0; q < 8; q++) {
            double x = 0.25 * (q - 3);
            assertEquals(q, UniformAffineQuantizer.code(x, 0.25, 3, 3));
            assertEquals(x, UniformAffineQuantizer.fakeQuant(x, 0.25, 3, 3), 0.0);
        }
        assertEquals(0, UniformAffineQuantizer.code(-5, 0.25, 3, 3), "clipped below");
        assertEquals(7, UniformAffineQuantizer.code(5, 0.25, 3, 3), "clipped above");
        assertEquals(1.0, UniformAffineQuantizer.fakeQuant(9.0, 0.25, 3, 3), 0.0);
        // round half to even like torch.round: 0.5 → 0, 1.5 → 2
        assertEquals(0.0, UniformAffineQuantizer.fakeQuant(0.125, 0.25, 3, 3), 0.0);
        assertEquals(0.5, UniformAffineQuantizer.fakeQuant(0.375, 0.25, 3, 3), 0.0);
    }

    @Test
    void minMaxIncludesZeroAndUnsignedHasZeroPointZero() {
        QuantGrid g = UniformAffineQuantizer.minMax(-1, 2, 8);
        assertEquals(3.0 / 255, g.scale(0), 1e-15);
        assertEquals(85, g.zeroPoint(0));
        QuantGrid pos = UniformAffineQuantizer.minMax(0.5, 2, 8);
        assertEquals(2.0 / 255, pos.scale(0), 1e-15);
        assertEquals(0, pos.zeroPoint(0), "range widened to contain 0");
        QuantGrid sm = UniformAffineQuantizer.unsignedMax(0.9, 8);
        assertEquals(0.9 / 255, sm.scale(0), 1e-15);
        assertEquals(0, sm.zeroPoint(0));
        QuantGrid zero = UniformAffineQuantizer.minMax(0, 0, 8);
        assertEquals(UniformAffineQuantizer.MIN_SCALE, zero.scale(0), 0.0);
    }

    @Test
    void msePrefersTheExactFullRangeWhenItIsLossless() {
        double[] v = {0, 1, 0, 1, 1.0 / 3, 2.0 / 3};
        double[] r = UniformAffineQuantizer.mseSearch(v, 0, v.length, 2);
        assertEquals(1.0 / 3, r[0], 1e-15);
        assertEquals(0, r[1]);
    }

    @Test
    void mseClipsGaussianTailsAtLowBitsButBarelyAtEightBits() {
        Random rnd = new Random(7);
        double[] v = new double[20000];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextGaussian();
        double max = 0;
        for (double x : v) max = Math.max(max, Math.abs(x));
        double[] r4 = UniformAffineQuantizer.mseSearch(v, 0, v.length, 4);
        double halfRange4 = r4[0] * 15 / 2;
        // the L2.4-optimal 4-bit clipping of N(0,1) lies near 2.6σ, far inside the sample maximum (~4σ)
        assertTrue(halfRange4 > 2.2 && halfRange4 < 3.2, "4-bit clipping half-range " + halfRange4);
        assertTrue(max > 3.7, "sample max " + max);
        double scoreChosen = score(v, r4[0], (int) r4[1], 4);
        QuantGrid full = UniformAffineQuantizer.minMax(min(v), maxv(v), 4);
        double rawScale = (maxv(v) - min(v)) / 15;
        double scoreFull = score(v, rawScale, (int) Math.rint(-min(v) / rawScale), 4);
        assertTrue(scoreChosen < 0.6 * scoreFull, "MSE choice " + scoreChosen + " vs full range " + scoreFull + " " + full);
        double[] r8 = UniformAffineQuantizer.mseSearch(v, 0, v.length, 8);
        double halfRange8 = r8[0] * 255 / 2;
        assertTrue(halfRange8 > 0.75 * max, "8-bit clipping half-range " + halfRange8 + " of max " + max);
    }

    private static double score(double[] v, double s, int z, int bits) {
        double acc = 0;
        for (double x : v) acc += Math.pow(Math.abs(UniformAffineQuantizer.fakeQuant(x, s, z, bits) - x), 2.4);
        return acc / v.length;
    }

    private static double min(double[] v) { double m = Double.POSITIVE_INFINITY; for (double x : v) m = Math.min(m, x); return m; }

    private static double maxv(double[] v) { double m = Double.NEGATIVE_INFINITY; for (double x : v) m = Math.max(m, x); return m; }

    @Test
    void perChannelBeatsPerTensorOnChannelsOfDifferentScale() {
        Random rnd = new Random(3);
        int per = 64;
        double[] w = new double[2 * per];
        for (int i = 0; i < per; i++) {
            w[i] = 0.01 * (2 * rnd.nextDouble() - 1);
            w[per + i] = 2 * rnd.nextDouble() - 1;
        }
        QuantGrid pc = UniformAffineQuantizer.perChannelMse(w, 2, 4);
        QuantGrid pt = UniformAffineQuantizer.perChannelMse(w, 1, 4);
        assertEquals(2, pc.channels());
        assertEquals(1, pt.channels());
        assertTrue(pc.scale(1) / pc.scale(0) > 50, "scales " + pc.scale(0) + " " + pc.scale(1));
        double[] dqc = UniformAffineQuantizer.dequantize(UniformAffineQuantizer.codes(w, pc), pc);
        double[] dqt = UniformAffineQuantizer.dequantize(UniformAffineQuantizer.codes(w, pt), pt);
        double errC = 0, errT = 0;
        for (int i = 0; i < per; i++) {
            errC += Math.abs(dqc[i] - w[i]);
            errT += Math.abs(dqt[i] - w[i]);
        }
        // per tensor, Δ ≈ 2/15 wipes out the small channel entirely (every value rounds to 0)
        for (int i = 0; i < per; i++) assertEquals(0.0, dqt[i], 0.0);
        assertTrue(errC * 10 < errT, "per-channel error " + errC + " vs per-tensor " + errT);
    }

    @Test
    void inPlaceFakeQuantMatchesScalarPathOnFloatAndDouble() {
        double[] v = {-3, -0.3, -0.124, 0, 0.125, 0.26, 0.74, 1.9, 8};
        for (var type : new org.nd4j.linalg.api.buffer.DataType[] {org.nd4j.linalg.api.buffer.DataType.FLOAT,
                org.nd4j.linalg.api.buffer.DataType.DOUBLE}) {
            INDArray a = Nd4j.createFromArray(v).castTo(type).reshape(3, 3);
            UniformAffineQuantizer.fakeQuantInPlace(a, 0.25, 5, 4);
            double[] got = a.reshape(9).toDoubleVector();
            for (int i = 0; i < v.length; i++) {
                double want = UniformAffineQuantizer.fakeQuant(type == org.nd4j.linalg.api.buffer.DataType.FLOAT
                        ? (float) v[i] : v[i], 0.25, 5, 4);
                assertEquals(want, got[i], 0.0, "element " + i + " " + type);
            }
            assertEquals(-1.25, got[0], 0.0, "lowest code is −z·Δ");
            assertEquals(2.5, got[8], 0.0, "highest code is (15 − z)·Δ");
        }
    }

    @Test
    void largeFloatTensorsTakeTheChunkedPathWithIdenticalBits() {
        // 2 x 170 001 floats: row 1 is a contiguous view at an odd offset spanning six chunks
        INDArray big = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 170_001).subi(0.5).muli(7);
        INDArray row = big.getRow(1);
        float[] before = row.dup().toFloatVector();
        float[] other = big.getRow(0).dup().toFloatVector();
        UniformAffineQuantizer.fakeQuantInPlace(row, 0.0371, 17, 6);
        float[] got = big.getRow(1).dup().toFloatVector();
        for (int i = 0; i < before.length; i++) {
            float want = (float) UniformAffineQuantizer.fakeQuant(before[i], 0.0371, 17, 6);
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got[i]), "element " + i);
        }
        assertArrayEquals(other, big.getRow(0).dup().toFloatVector(), 0f, "the rest of the buffer is untouched");
    }

    @Test
    void badBitWidthsAndValuesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UniformAffineQuantizer.minMax(-1, 1, 1));
        assertTrue(e.getMessage().contains("bit width 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> UniformAffineQuantizer.minMax(-1, 1, 17));
        UniformAffineQuantizer.minMax(-1, 1, 2);
        UniformAffineQuantizer.minMax(-1, 1, 16);
        e = assertThrows(IllegalArgumentException.class, () -> UniformAffineQuantizer.mseSearch(new double[] {1, Double.NaN}, 0, 2, 8));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> UniformAffineQuantizer.perChannelMse(new double[7], 2, 8));
        assertTrue(e.getMessage().contains("7 weight values"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new QuantGrid(8, new double[] {0.0}, new int[] {0}));
        assertTrue(e.getMessage().contains("scale 0.0"), e.getMessage());
    }

    @Test
    void bitSettingsParseAndValidate() {
        assertEquals(BitWidths.W4A8, BitWidths.parse("W4A8"));
        assertEquals(BitWidths.W8A8, BitWidths.parse("w8a8"));
        assertEquals(BitWidths.W4A32, BitWidths.parse("W4A32"));
        assertFalse(BitWidths.W4A32.quantizesActivations());
        assertEquals(new BitWidths(2, 16, 16), BitWidths.parse("W2A16S16"));
        assertEquals("W2A16S16", new BitWidths(2, 16, 16).name());
        for (String bad : new String[] {"W9A8", "W1A8", "W4A3", "W4A17", "W4A8S2", "X4A8", "W4", "W4A8Sx"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BitWidths.parse(bad), bad);
            assertFalse(e.getMessage().isBlank());
        }
    }
}
