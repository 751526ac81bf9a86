package dev.tfmq.model.scheduler;

/**
 * The forward-process tables of a scheduler config, in double precision: {@code betas}, {@code alphas = 1 - betas}
 * and {@code alphas_cumprod} (ᾱ). diffusers keeps these tables in float32 tensors; computing them in double differs
 * from diffusers' float32 tables by a relative 4e-7 at most for the linear 1000-step schedule, far below the
 * float32 resolution of the samples it is applied to.
 *
 * <ul>
 *   <li>{@code linear}: β_i = β_start + (β_end − β_start)·i/(T−1)</li>
 *   <li>{@code scaled_linear}: β_i = (√β_start + (√β_end − √β_start)·i/(T−1))²</li>
 *   <li>{@code squaredcos_cap_v2}: β_i = min(1 − ᾱ(i+1/T)/ᾱ(i/T), 0.999) with ᾱ(s) = cos²((s + 0.008)/1.008 · π/2)</li>
 *   <li>{@code trained_betas}: the listed values</li>
 *   <li>{@code rescale_betas_zero_snr}: √ᾱ is shifted so that its last value is 0 and scaled so that its first value
 *       is unchanged, then betas are recomputed from the new ᾱ (Lin et al. 2023, as diffusers does)</li>
 * </ul>
 */
public final class NoiseSchedule {
    /** Cap of the cosine schedule's betas, as in diffusers' {@code betas_for_alpha_bar}. */
    public static final double MAX_BETA = 0.999;

    private final double[] betas;
    private final double[] alphas;
    private final double[] alphasCumprod;

    private NoiseSchedule(double[] betas) {
        this.betas = betas;
        int n = betas.length;
        alphas = new double[n];
        alphasCumprod = new double[n];
        double p = 1.0;
        for (int i = 0; i < n; i++) {
            alphas[i] = 1.0 - betas[i];
            p *= alphas[i];
            alphasCumprod[i] = p;
        }
    }

    /** Tables for explicit betas (values in (0, 1]; 1 only as the last value of a zero-terminal-SNR schedule). */
    public static NoiseSchedule ofBetas(double[] betas) {
        for (double b : betas) {
            if (!(b >= 0 && b <= 1)) throw new IllegalArgumentException("betas must lie in [0, 1], got " + b);
        }
        return new NoiseSchedule(betas.clone());
    }

    public static NoiseSchedule of(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        double[] b = c.trainedBetas();
        if (b == null) {
            b = switch (c.betaSchedule()) {
                case LINEAR -> linspace(c.betaStart(), c.betaEnd(), n);
                case SCALED_LINEAR -> {
                    double[] s = linspace(Math.sqrt(c.betaStart()), Math.sqrt(c.betaEnd()), n);
                    for (int i = 0; i < n; i++) s[i] *= s[i];
                    yield s;
                }
                case SQUAREDCOS_CAP_V2 -> cosine(n);
            };
        }
        if (c.rescaleBetasZeroSnr()) b = rescaleZeroTerminalSnr(b);
        return new NoiseSchedule(b);
    }

    static double[] linspace(double start, double end, int n) {
        double[] v = new double[n];
        if (n == 1) {
            v[0] = start;
            return v;
        }
        for (int i = 0; i < n; i++) v[i] = start + (end - start) * i / (n - 1);
        v[n - 1] = end;
        return v;
    }

    private static double cosAlphaBar(double s) {
        double c = Math.cos((s + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    static double[] cosine(int n) {
        double[] b = new double[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            b[i] = Math.min(1 - cosAlphaBar(t2) / cosAlphaBar(t1), MAX_BETA);
        }
        return b;
    }

    static double[] rescaleZeroTerminalSnr(double[] betas) {
        int n = betas.length;
        double[] s = new double[n];
        double p = 1;
        for (int i = 0; i < n; i++) {
            p *= 1 - betas[i];
            s[i] = Math.sqrt(p);
        }
        double first = s[0];
        double last = s[n - 1];
        if (!(first > last)) throw new IllegalArgumentException("cannot rescale a schedule whose alpha-bar does not decrease");
        double[] out = new double[n];
        double prevBar = 0;
        for (int i = 0; i < n; i++) {
            double v = (s[i] - last) * first / (first - last);
            double bar = v * v;
            double alpha = i == 0 ? bar : bar / prevBar;
            out[i] = 1 - alpha;
            prevBar = bar;
        }
        return out;
    }

    public int numTrainTimesteps() { return betas.length; }

    public double beta(int t) { return betas[t]; }

    public double alpha(int t) { return alphas[t]; }

    public double alphaCumprod(int t) { return alphasCumprod[t]; }

    public double[] betas() { return betas.clone(); }

    public double[] alphasCumprod() { return alphasCumprod.clone(); }
}
