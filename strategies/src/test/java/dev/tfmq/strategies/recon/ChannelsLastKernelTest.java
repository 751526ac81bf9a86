package dev.tfmq.strategies.recon;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The channels-last kernels against references: the fast float32 convolution backward (flipped-kernel forward
 * convolution for dx, im2col + GEMM for dW) against ND4J's conv2d_bp, the float64 path against finite differences,
 * and the channels-last group norm against the channel-first one.
 */
class ChannelsLastKernelTest {
    private static double rel(INDArray a, INDArray ref) {
        return a.sub(ref).norm2Number().doubleValue() / ref.norm2Number().doubleValue();
    }

    @Test
    void fastConvolutionBackwardMatchesConv2dBp() {
        // non-square maps, channel counts that are not multiples of a vector, the 3x3 and the 1x1 (shortcut) kernels
        for (int k : new int[] {3, 1}) {
            int pad = k / 2;
            Nd4j.getRandom().setSeed(7 + k);
            INDArray x = Nd4j.randn(DataType.FLOAT, 3, 7, 5, 5);
            INDArray w = Nd4j.randn(DataType.FLOAT, 6, 5, k, k);
            INDArray b = Nd4j.randn(DataType.FLOAT, 6);
            INDArray y = ChannelsLast.conv2d(x, w, b, 1, pad);
            assertArrayEquals(new long[] {3, 7, 5, 6}, y.shape());
            INDArray dy = Nd4j.randn(DataType.FLOAT, y.shape());
            INDArray[] fast = ChannelsLast.conv2dBackward(x, w, b, 1, pad, dy, true);
            INDArray[] ref = ChannelsLast.reference(x, w, b, 1, pad, dy);
            assertTrue(rel(fast[0], ref[0]) < 1e-5, "dx k=" + k + ": " + rel(fast[0], ref[0]));
            assertTrue(rel(fast[1], ref[1]) < 1e-5, "dW k=" + k + ": " + rel(fast[1], ref[1]));
            assertTrue(rel(fast[2], ref[2]) < 1e-5, "db k=" + k);
            assertNull(ChannelsLast.conv2dBackward(x, w, b, 1, pad, dy, false)[0], "dx is skipped when nobody needs it");
        }
    }

    @Test
    void float64ConvolutionGradientsAgainstFiniteDifferences() {
        INDArray x = KernelGradientTest.randn(1, 2, 6, 5, 3);
        INDArray w = KernelGradientTest.randn(2, 4, 3, 3, 3);
        INDArray b = KernelGradientTest.randn(3, 4);
        INDArray r = KernelGradientTest.randn(4, ChannelsLast.conv2d(x, w, b, 1, 1).shape());
        INDArray[] g = ChannelsLast.conv2dBackward(x, w, b, 1, 1, r, true);
        GradCheck.check("nhwc conv dx", () -> KernelGradientTest.loss(v -> ChannelsLast.conv2d(v, w, b, 1, 1), x, r), x, g[0], 20, 1);
        GradCheck.check("nhwc conv dw", () -> KernelGradientTest.loss(v -> ChannelsLast.conv2d(x, v, b, 1, 1), w, r), w, g[1], 20, 2);
    }

    @Test
    void groupNormMatchesTheChannelFirstKernel() {
        INDArray x = KernelGradientTest.randn(5, 2, 8, 4, 3);  // NCHW, 8 channels in 4 groups
        INDArray gamma = KernelGradientTest.randn(6, 8), beta = KernelGradientTest.randn(7, 8);
        INDArray dy = KernelGradientTest.randn(8, 2, 8, 4, 3);
        Kernels.NormCache[] cf = new Kernels.NormCache[1];
        INDArray yRef = Kernels.groupNorm(x, gamma, beta, 4, 1e-5, cf);
        INDArray dxRef = Kernels.groupNormBackward(cf[0], gamma, 4, dy)[0];
        ChannelsLast.Norm[] cl = new ChannelsLast.Norm[1];
        INDArray y = ChannelsLast.groupNorm(ChannelsLast.fromChannelFirst(x), gamma, beta, 4, 1e-5, cl);
        INDArray dx = ChannelsLast.groupNormBackward(cl[0], gamma, ChannelsLast.fromChannelFirst(dy));
        assertTrue(rel(ChannelsLast.toChannelFirst(y), yRef) < 1e-12, "forward");
        assertTrue(rel(ChannelsLast.toChannelFirst(dx), dxRef) < 1e-12, "backward");
        // float32 takes the same code through float staging
        INDArray yf = ChannelsLast.groupNorm(ChannelsLast.fromChannelFirst(x.castTo(DataType.FLOAT)),
                gamma.castTo(DataType.FLOAT), beta.castTo(DataType.FLOAT), 4, 1e-5, cl);
        assertTrue(rel(ChannelsLast.toChannelFirst(yf).castTo(DataType.DOUBLE), yRef) < 1e-6, "float32 forward");
    }
}
