package dev.tfmq.model.unet;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.nn.BufferPool;
import dev.tfmq.model.nn.Host;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.nn.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * The time-step path: sinusoidal projection (diffusers' {@code Timesteps}) and the MLP
 * ({@code TimestepEmbedding}: linear_1 → SiLU → linear_2). The projection is computed in double precision,
 * which is why it matches diffusers' float64 table to round-off and its float32 table to ~3e-5 at t = 999.
 */
public final class TimeEmbedding extends Module {
    private final int projDim;
    private final boolean flipSinToCos;
    private final int freqShift;
    final Linear linear1;
    final Linear linear2;
    private final BufferPool pool;

    TimeEmbedding(Weights w, int projDim, int embedDim, boolean flipSinToCos, int freqShift, BufferPool pool)
            throws FormatException {
        super("time_embedding", ModuleKind.TIME_EMBEDDING);
        this.projDim = projDim;
        this.flipSinToCos = flipSinToCos;
        this.freqShift = freqShift;
        this.pool = pool;
        linear1 = new Linear("time_embedding.linear_1", w.take("time_embedding.linear_1.weight", embedDim, projDim),
                w.take("time_embedding.linear_1.bias", embedDim), 1);
        linear2 = new Linear("time_embedding.linear_2", w.take("time_embedding.linear_2.weight", embedDim, embedDim),
                w.take("time_embedding.linear_2.bias", embedDim), 1);
    }

    List<Module> children() { return List.of(linear1, linear2); }

    public int projectionDim() { return projDim; }

    public int embeddingDim() { return (int) linear1.outFeatures(); }

    /** Sinusoidal projection of the time-steps, [B, projDim], in double precision. */
    public double[][] projection(long[] timesteps) {
        int half = projDim / 2;
        double[][] out = new double[timesteps.length][projDim];
        for (int b = 0; b < timesteps.length; b++) {
            for (int i = 0; i < half; i++) {
                double freq = Math.exp(-Math.log(10000.0) * i / (half - freqShift));
                double arg = timesteps[b] * freq;
                double sin = Math.sin(arg);
                double cos = Math.cos(arg);
                if (flipSinToCos) {
                    out[b][i] = cos;
                    out[b][half + i] = sin;
                } else {
                    out[b][i] = sin;
                    out[b][half + i] = cos;
                }
            }
        }
        return out;
    }

    /** temb = linear_2(SiLU(linear_1(proj(t)))) into {@code out} [B, embedDim]. */
    public void forward(long[] timesteps, INDArray out) {
        int b = timesteps.length;
        INDArray proj = pool.get("time_proj:out", b, projDim);
        double[][] p = projection(timesteps);
        double[] flat = new double[b * projDim];
        for (int i = 0; i < b; i++) System.arraycopy(p[i], 0, flat, i * projDim, projDim);
        Host.copyInto(flat, proj);
        before(proj);
        INDArray h = pool.get("time_embedding:hidden", b, linear1.outFeatures());
        linear1.forwardRows(proj, h);
        Ops.silu(h, h);
        linear2.forwardRows(h, out);
        after(out);
    }

    @Override
    public long macsPerImage() { return linear1.macsPerImage() + linear2.macsPerImage(); }
}
