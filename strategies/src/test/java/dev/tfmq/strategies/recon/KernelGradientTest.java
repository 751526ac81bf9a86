package dev.tfmq.strategies.recon;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/** Every backward kernel against central finite differences in float64. */
class KernelGradientTest {
    static INDArray randn(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, shape);
    }

    /** L = Σ f(x) ⊙ R for a fixed random R, so dL/dy = R. */
    static double loss(Function<INDArray, INDArray> f, INDArray x, INDArray r) {
        return f.apply(x).mul(r).sumNumber().doubleValue();
    }

    @Test
    void convolutionStrideOneAndTwo() {
        for (int stride : new int[] {1, 2}) {
            INDArray x = randn(1, 2, 3, 6, 6);
            INDArray w = randn(2, 4, 3, 3, 3);
            INDArray b = randn(3, 4);
            INDArray y = Kernels.conv2d(x, w, b, stride, 1);
            INDArray r = randn(4, y.shape());
            INDArray[] g = Kernels.conv2dBackward(x, w, b, stride, 1, r);
            GradCheck.check("conv dx s" + stride, () -> loss(v -> Kernels.conv2d(v, w, b, stride, 1), x, r), x, g[0], 20, 1);
            GradCheck.check("conv dw s" + stride, () -> loss(v -> Kernels.conv2d(x, v, b, stride, 1), w, r), w, g[1], 20, 2);
            GradCheck.check("conv db s" + stride, () -> loss(v -> Kernels.conv2d(x, w, v, stride, 1), b, r), b, g[2], 4, 3);
        }
    }

    @Test
    void linearRowsAndChannels() {
        INDArray x = randn(5, 3, 6);
        INDArray w = randn(6, 4, 6);
        INDArray b = randn(7, 4);
        INDArray r = randn(8, 3, 4);
        INDArray[] g = Kernels.linearRowsBackward(x, w, b, r);
        GradCheck.check("rows dx", () -> loss(v -> Kernels.linearRows(v, w, b), x, r), x, g[0], 10, 1);
        GradCheck.check("rows dw", () -> loss(v -> Kernels.linearRows(x, v, b), w, r), w, g[1], 10, 2);
        GradCheck.check("rows db", () -> loss(v -> Kernels.linearRows(x, w, v), b, r), b, g[2], 4, 3);
        INDArray xc = randn(9, 2, 6, 5);
        INDArray rc = randn(10, 2, 4, 5);
        INDArray[] gc = Kernels.linearChannelsBackward(xc, w, b, rc);
        GradCheck.check("chan dx", () -> loss(v -> Kernels.linearChannels(v, w, b), xc, rc), xc, gc[0], 10, 1);
        GradCheck.check("chan dw", () -> loss(v -> Kernels.linearChannels(xc, v, b), w, rc), w, gc[1], 10, 2);
        GradCheck.check("chan db", () -> loss(v -> Kernels.linearChannels(xc, w, v), b, rc), b, gc[2], 4, 3);
    }

    @Test
    void groupNormAndSilu() {
        INDArray x = randn(11, 2, 4, 3, 3);
        INDArray gamma = randn(12, 4);
        INDArray beta = randn(13, 4);
        Kernels.NormCache[] c = new Kernels.NormCache[1];
        INDArray y = Kernels.groupNorm(x, gamma, beta, 2, 1e-5, c);
        // normalised groups have zero mean and unit variance before the affine transform
        assertEquals(0.0, c[0].xhat().reshape(4, 18).mean(1).amaxNumber().doubleValue(), 1e-12);
        INDArray r = randn(14, y.shape());
        INDArray[] g = Kernels.groupNormBackward(c[0], gamma, 2, r);
        Kernels.NormCache[] tmp = new Kernels.NormCache[1];
        GradCheck.check("gn dx", () -> loss(v -> Kernels.groupNorm(v, gamma, beta, 2, 1e-5, tmp), x, r), x, g[0], 20, 1);
        GradCheck.check("gn dgamma", () -> loss(v -> Kernels.groupNorm(x, v, beta, 2, 1e-5, tmp), gamma, r), gamma, g[1], 4, 2);
        GradCheck.check("gn dbeta", () -> loss(v -> Kernels.groupNorm(x, gamma, v, 2, 1e-5, tmp), beta, r), beta, g[2], 4, 3);
        INDArray s = randn(15, 3, 7);
        INDArray rs = randn(16, 3, 7);
        GradCheck.check("silu", () -> loss(Kernels::silu, s, rs), s, Kernels.siluBackward(s, rs), 15, 4);
    }

    @Test
    void attentionAndUpsampling() {
        INDArray q = randn(21, 4, 3, 5);
        INDArray k = randn(22, 4, 3, 5);
        INDArray v = randn(23, 4, 3, 5);
        INDArray r = randn(24, 4, 3, 5);
        double scale = 1 / Math.sqrt(3);
        INDArray[] p = new INDArray[1];
        Kernels.attention(q, k, v, scale, p);
        INDArray[] g = Kernels.attentionBackward(q, k, v, p[0], scale, r);
        INDArray[] tmp = new INDArray[1];
        GradCheck.check("attn dq", () -> loss(a -> Kernels.attention(a, k, v, scale, tmp), q, r), q, g[0], 20, 1);
        GradCheck.check("attn dk", () -> loss(a -> Kernels.attention(q, a, v, scale, tmp), k, r), k, g[1], 20, 2);
        GradCheck.check("attn dv", () -> loss(a -> Kernels.attention(q, k, a, scale, tmp), v, r), v, g[2], 20, 3);
        INDArray x = randn(25, 2, 3, 3, 4);
        INDArray ru = randn(26, 2, 3, 6, 8);
        GradCheck.check("upsample", () -> loss(Kernels::upsample2x, x, ru), x, Kernels.upsample2xBackward(ru), 15, 4);
    }
}
