package dev.tfmq.strategies.calib;

import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.ActivationCollector;
import dev.tfmq.strategies.quant.ActivationQuantization;
import dev.tfmq.strategies.quant.ActivationSite;
import dev.tfmq.strategies.quant.FloatAccess;
import dev.tfmq.strategies.quant.QuantGrid;
import dev.tfmq.strategies.quant.TimestepContext;
import dev.tfmq.strategies.quant.UniformAffineQuantizer;
import dev.tfmq.strategies.recipe.ProgressListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;

/**
 * Activation calibration (method spec §3): FSC's exact per-time-step Min-Max for the Temporal Information Block,
 * and the released code's init + EMA running Min-Max (momentum 0.95, batches of 16) for the other activations,
 * either per sampling step (FSC scope "all") or one grid over all steps (scope "tib" and the baselines).
 * Calibration runs with weights quantized and already-calibrated activations quantized, as in the reference.
 */
public final class ActivationCalibration {
    public static final double MOMENTUM = 0.95;
    public static final int BATCH = 16;

    /** Phase, item and unit of the running Min-Max work reported to the progress listener. */
    public static final String PHASE = "activations";
    public static final String ITEM = "running min-max";
    public static final String UNIT = "samples";

    private final UNet2DModel model;
    private final ActivationQuantization aq;
    private final TimestepContext ctx;
    private final ProgressListener progress;
    /** Samples run through the model so far and in all, for the progress report of {@link #runningMinMax}. */
    private long done;
    private long total;

    public ActivationCalibration(UNet2DModel model, ActivationQuantization aq) {
        this(model, aq, ProgressListener.NONE);
    }

    /** As above, reporting the samples run by {@link #runningMinMax} to {@code progress}. */
    public ActivationCalibration(UNet2DModel model, ActivationQuantization aq, ProgressListener progress) {
        this.model = model;
        this.aq = aq;
        this.ctx = aq.context();
        this.progress = progress;
    }

    /**
     * FSC: for every time-step of the finite set, the exact Min-Max of each TIB activation. The TIB output depends
     * on t alone, so one evaluation per time-step sees every value that activation can take at that step.
     */
    public void finiteSetCalibration(long[] timesteps) {
        aq.setCollector(new ActivationCollector() {
            public boolean collects(ActivationSite s) { return s.temporal(); }

            public void observe(ActivationSite s, INDArray x, TimestepContext c) {
                double[] mm = minMax(x);
                QuantGrid g = s.gridFor(mm[0], mm[1]);
                s.table().setStep(c.current(s.key()), g);
                UniformAffineQuantizer.fakeQuantInPlace(x, g.scale(0), g.zeroPoint(0), g.bits());
            }
        });
        try {
            for (long t : timesteps) {
                ctx.set(t);
                model.computeTemporalFeatures(new long[] {t});
            }
        } finally {
            aq.setCollector(null);
            ctx.clear();
        }
    }

    /**
     * One grid per TIB activation for all time-steps (the baselines, which do not separate the TIB), from the same
     * init + EMA procedure applied to the TIB activation of each calibration time-step.
     */
    public void singleGridTemporal(long[] timesteps, long seed) {
        List<Long> order = new ArrayList<>();
        for (long t : timesteps) order.add(t);
        java.util.Collections.shuffle(order, new Random(seed));
        EmaCollector ema = new EmaCollector(ActivationSite::temporal, false);
        aq.setCollector(ema);
        try {
            for (long t : order) {
                ctx.set(t);
                model.computeTemporalFeatures(new long[] {t});
            }
        } finally {
            aq.setCollector(null);
            ctx.clear();
        }
    }

    /**
     * Init + EMA running Min-Max for the non-TIB activations.
     *
     * @param perStep one grid per sampling step (FSC scope "all", released code) or one grid over all steps
     */
    public void runningMinMax(CalibrationStore data, boolean perStep, long seed) {
        Random rnd = new Random(seed);
        Predicate<ActivationSite> which = s -> !s.temporal();
        done = 0;
        if (perStep) {
            total = 0;
            for (int k : data.steps()) {
                int n = data.indicesOfStep(k).length;
                total += Math.min(BATCH, n) + n;
            }
            progress.onWork(PHASE, ITEM, 0, total, UNIT);
            for (int k : data.steps()) {
                EmaCollector ema = new EmaCollector(which, true);
                int[] idx = data.indicesOfStep(k);
                runInitAndEma(data, List.of(idx), ema, rnd, false);
            }
        } else {
            // One grid over the union. Batches are still drawn within a step (GUESS, spec §3.2 leaves the non-TIB
            // batching open): per-step TIB tables need one time-step per forward pass.
            List<int[]> groups = new ArrayList<>();
            for (int k : data.steps()) groups.add(data.indicesOfStep(k));
            runInitAndEma(data, groups, new EmaCollector(which, false), rnd, true);
        }
    }

    /** @param countTotal set {@link #total} from these groups (else the caller has set it for several calls) */
    private void runInitAndEma(CalibrationStore data, List<int[]> groups, EmaCollector ema, Random rnd, boolean countTotal) {
        aq.setCollector(ema);
        try {
            // init: 16 random samples of one (random) group, raw Min-Max
            int[] g0 = groups.get(rnd.nextInt(groups.size()));
            int[] init = shuffled(g0, rnd);
            if (countTotal) {
                total = Math.min(BATCH, init.length);
                for (int[] g : groups) total += g.length;
                progress.onWork(PHASE, ITEM, 0, total, UNIT);
            }
            run(data, Arrays.copyOf(init, Math.min(BATCH, init.length)));
            reportRun(Math.min(BATCH, init.length));
            List<int[]> batches = new ArrayList<>();
            for (int[] g : groups) {
                int[] sh = shuffled(g, rnd);
                for (int s = 0; s < sh.length; s += BATCH) batches.add(Arrays.copyOfRange(sh, s, Math.min(sh.length, s + BATCH)));
            }
            java.util.Collections.shuffle(batches, rnd);
            for (int[] b : batches) {
                run(data, b);
                reportRun(b.length);
            }
        } finally {
            aq.setCollector(null);
            ctx.clear();
        }
    }

    private void reportRun(int samples) {
        done += samples;
        progress.onWork(PHASE, ITEM, done, total, UNIT);
    }

    /** MSE-searched single grids (PTQ4DM-style init) from one batch of 16 random calibration samples. */
    public void mseInit(CalibrationStore data, long seed) {
        Random rnd = new Random(seed);
        int[] steps = data.steps();
        int[] idx = shuffled(data.indicesOfStep(steps[rnd.nextInt(steps.length)]), rnd);
        aq.setCollector(new ActivationCollector() {
            public boolean collects(ActivationSite s) { return !s.temporal(); }

            public void observe(ActivationSite s, INDArray x, TimestepContext c) {
                QuantGrid g;
                if (s.unsigned()) {
                    g = s.gridFor(0, minMax(x)[1]);
                } else {
                    double[] v = FloatAccess.toDoubles(x);
                    double[] r = UniformAffineQuantizer.mseSearch(v, 0, v.length, s.bits());
                    g = QuantGrid.perTensor(s.bits(), r[0], (int) r[1]);
                }
                s.table().setShared(g);
                UniformAffineQuantizer.fakeQuantInPlace(x, g.scale(0), g.zeroPoint(0), g.bits());
            }
        });
        try {
            run(data, Arrays.copyOf(idx, Math.min(BATCH, idx.length)));
        } finally {
            aq.setCollector(null);
            ctx.clear();
        }
    }

    private void run(CalibrationStore data, int[] idx) {
        long[] t = data.timesteps(idx);
        for (long v : t) {
            if (v != t[0]) throw new IllegalStateException("calibration batch mixes time-steps " + t[0] + " and " + v);
        }
        INDArray x = data.x(idx);
        if (model.dtype() != DataType.FLOAT) x = x.castTo(model.dtype());
        INDArray out = Nd4j.create(model.dtype(), x.shape());
        ctx.set(t[0]);
        model.forward(x, t, out);
    }

    private static int[] shuffled(int[] a, Random rnd) {
        int[] c = a.clone();
        for (int i = c.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int tmp = c[i];
            c[i] = c[j];
            c[j] = tmp;
        }
        return c;
    }

    static double[] minMax(INDArray x) {
        FloatAccess f = FloatAccess.of(x);
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (long i = 0, n = f.length(); i < n; i++) {
            double v = f.get(i);
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (Double.isNaN(lo) || Double.isNaN(hi) || Double.isInfinite(lo) || Double.isInfinite(hi)) {
            throw new IllegalStateException("activation range [" + lo + ", " + hi + "] is not finite");
        }
        return new double[] {lo, hi};
    }

    /**
     * The released code's running statistic: the first batch sets (x_min, x_max) to its raw Min-Max; every later
     * call moves them by x ← 0.95·x + 0.05·batch; the grid is rebuilt from them and applied at once.
     */
    static final class EmaCollector implements ActivationCollector {
        private final Predicate<ActivationSite> which;
        private final boolean perStep;
        private final Map<String, double[]> state = new HashMap<>();

        EmaCollector(Predicate<ActivationSite> which, boolean perStep) {
            this.which = which;
            this.perStep = perStep;
        }

        public boolean collects(ActivationSite s) { return which.test(s); }

        public void observe(ActivationSite s, INDArray x, TimestepContext c) {
            double[] mm = minMax(x);
            double[] st = state.get(s.key());
            if (st == null) {
                st = mm.clone();
                state.put(s.key(), st);
            } else {
                st[0] = MOMENTUM * st[0] + (1 - MOMENTUM) * mm[0];
                st[1] = MOMENTUM * st[1] + (1 - MOMENTUM) * mm[1];
            }
            QuantGrid g = s.gridFor(st[0], st[1]);
            if (perStep) s.table().setStep(c.current(s.key()), g);
            else s.table().setShared(g);
            UniformAffineQuantizer.fakeQuantInPlace(x, g.scale(0), g.zeroPoint(0), g.bits());
        }
    }
}
