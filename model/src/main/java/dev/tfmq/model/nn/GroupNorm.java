package dev.tfmq.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * GroupNorm as in PyTorch: per (sample, group) mean and biased variance over the group's channels and pixels,
 * eps inside the square root, then a per-channel affine transform.
 */
public final class GroupNorm extends Module {
    private final INDArray gamma;
    private final INDArray beta;
    private final int groups;
    private final double eps;
    private final BufferPool pool;
    private final double[] gammaD;
    private final double[] betaD;
    private final float[] gammaF;
    private final float[] betaF;
    private final FusedKernels.Staging staging = new FusedKernels.Staging();

    public GroupNorm(String path, INDArray gamma, INDArray beta, int groups, double eps, BufferPool pool) {
        super(path, ModuleKind.NORM);
        if (groups < 1) throw new IllegalArgumentException(path + ": group count " + groups + " must be >= 1");
        if (gamma.length() % groups != 0) {
            throw new IllegalArgumentException(path + ": " + gamma.length() + " channels are not divisible into "
                    + groups + " groups");
        }
        this.gamma = gamma;
        this.beta = beta;
        this.groups = groups;
        this.eps = eps;
        this.pool = pool;
        this.gammaD = gamma.toDoubleVector();
        this.betaD = beta.toDoubleVector();
        this.gammaF = gamma.toFloatVector();
        this.betaF = beta.toFloatVector();
    }

    public int groups() { return groups; }

    public double eps() { return eps; }

    /**
     * Normalises {@code in} [B, C, ...] into {@code out} (may be the same array); when {@code silu} is set, also
     * applies SiLU, which every use in the UNet except attention's does next.
     */
    public void forward(INDArray in, INDArray out, boolean silu) {
        before(in);
        // The fused kernel applies SiLU before anyone could look at the norm's own output, so it serves only
        // passes without a hook on this norm.
        if (hook() == null && FusedKernels.enabled() && in.dataType() == DataType.FLOAT && out.dataType() == DataType.FLOAT) {
            FusedKernels.groupNorm(staging, in, out, groups, gammaF, betaF, eps, silu);
            return;
        }
        long b = in.size(0);
        long c = in.size(1);
        long per = in.length() / (b * c);
        if (out != in) out.assign(in);
        INDArray grouped = out.reshape('c', b * groups, (c / groups) * per);
        INDArray mean = grouped.mean(1);
        INDArray var = grouped.var(false, 1);
        // Fold the group statistics and the channel affine into one scale and shift per (sample, channel).
        INDArray scale = pool.get(path() + ":scale", b * c);
        INDArray shift = pool.get(path() + ":shift", b * c);
        int cpg = (int) (c / groups);
        double[] m = mean.toDoubleVector();
        double[] v = var.toDoubleVector();
        double[] s = new double[(int) (b * c)];
        double[] t = new double[(int) (b * c)];
        for (int i = 0; i < b; i++) {
            for (int g = 0; g < groups; g++) {
                double inv = 1.0 / Math.sqrt(v[i * groups + g] + eps);
                for (int k = 0; k < cpg; k++) {
                    int ch = g * cpg + k;
                    int at = (int) (i * c + ch);
                    s[at] = gammaD[ch] * inv;
                    t[at] = betaD[ch] - m[i * groups + g] * s[at];
                }
            }
        }
        Host.copyInto(s, scale);
        Host.copyInto(t, shift);
        INDArray rows = out.reshape('c', b * c, per);
        rows.muliColumnVector(scale.reshape(b * c, 1));
        rows.addiColumnVector(shift.reshape(b * c, 1));
        // the hook sees the norm's own output (as diffusers' module output); the fused SiLU follows
        after(out);
        if (silu) Ops.silu(out, out);
    }

    /**
     * Channels-last [B, ..., C] (float32, fused kernels on): normalises {@code in + pre} into {@code out} (may be
     * the same array), then multiplies by {@code postScale} and adds {@code postShift} (all [B, C], each optional;
     * the ResnetBlock's time conditioning), then SiLU if asked. A hook sees the input with {@code pre} added and
     * the norm's own output, before the post terms and SiLU, as in diffusers.
     */
    public void forwardChannelsLast(INDArray in, INDArray out, boolean silu, INDArray pre, INDArray postScale,
                                    INDArray postShift) {
        if (hook() == null) {
            FusedKernels.groupNormChannelsLast(staging, in, out, groups, gammaF, betaF, eps, silu, pre, postScale, postShift);
            return;
        }
        long b = in.size(0);
        long c = in.size(in.rank() - 1);
        if (pre != null) Ops.addPerImageChannel(in.reshape('c', b, in.length() / (b * c), c), pre);
        before(in);
        FusedKernels.groupNormChannelsLast(staging, in, out, groups, gammaF, betaF, eps, false, null, null, null);
        after(out);
        INDArray out3 = out.reshape('c', b, out.length() / (b * c), c);
        if (postScale != null) {
            Ops.mulPerImageChannel(out3, postScale);
            Ops.addPerImageChannel(out3, postShift);
        }
        if (silu) Ops.silu(out, out);
    }

    @Override
    public Map<String, INDArray> parameters() { return params(path(), gamma, beta); }
}
