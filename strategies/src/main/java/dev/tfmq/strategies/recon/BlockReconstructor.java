package dev.tfmq.strategies.recon;

import dev.tfmq.strategies.recipe.ProgressListener;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.abstracts.Nd4jWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Random;

/**
 * The AdaRound optimisation of one unit (spec §2.2–2.3): random mini-batches (a fresh random subset each iteration,
 * like {@code randperm[:bs]}), loss = rec + R with rec = Σ over the feature axis of (ŷ − y)², averaged over the
 * batch and the remaining axes, R the rounding regulariser on the β schedule, Adam on all α. Ends with hard
 * rounding written into the weight quantizers.
 */
public final class BlockReconstructor {
    /**
     * One unit's reconstruction: the error on the whole cached set with round-to-nearest and with the learned
     * rounding, the iterations run, the wall time of the iteration loop (and of its first {@link #WARMUP_ITERATIONS}
     * iterations, which size the workspace), the unit's forward multiply-accumulates per sample, the mini-batch, and
     * the mini-batch reconstruction loss at up to {@link #TRACE_POINTS} evenly spaced iterations (the convergence
     * trace; the regulariser is not included), and the bytes the iterations after the warm-up allocated outside
     * their workspace (0 when the loop allocates nothing fresh; -1 when the workspace was off).
     */
    public record Result(UnitKind kind, double nearestLoss, double learnedLoss, int iterations, double seconds,
                         double warmupSeconds, long macsPerSample, int batch, int[] traceIterations, double[] traceLoss,
                         long steadySpilledBytes) {
        /**
         * Floating-point work of one iteration: forward, input gradient and weight gradient, each about the
         * forward's 2·MAC per sample.
         */
        public double flopPerIteration() { return 3.0 * 2.0 * macsPerSample * batch; }

        /** Iterations per second after the warm-up iterations (the steady rate), or over all when too few. */
        public double iterationsPerSecond() {
            int steady = iterations - Math.min(iterations, WARMUP_ITERATIONS);
            double s = seconds - warmupSeconds;
            return steady > 0 && s > 0 ? steady / s : iterations / Math.max(seconds, 1e-12);
        }

        public double gflops() { return flopPerIteration() * iterationsPerSecond() / 1e9; }
    }

    /** Iterations timed apart at the start of every loop: the first sizes the workspace, the second reuses it. */
    public static final int WARMUP_ITERATIONS = 2;

    /** Points of the loss trace kept per unit. */
    public static final int TRACE_POINTS = 11;

    /**
     * Every array an iteration creates comes from this workspace: the first iteration measures what it needs, later
     * ones reuse the same memory. Without it each op's output is a fresh native allocation, and on these VMs the
     * first touch of fresh pages dominated the loop (most of its wall time was system time).
     */
    private static final WorkspaceConfiguration ITERATION_WORKSPACE = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyLearning(LearningPolicy.FIRST_LOOP)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .overallocationLimit(0.1)
            .policySpill(SpillPolicy.REALLOCATE)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .build();

    /**
     * Off only to measure what the workspace saves ({@code -Dtfmq.recon.workspace=false}, used by the
     * reconstruction benchmark's reference rounds).
     */
    static volatile boolean WORKSPACE_ON = !"false".equals(System.getProperty("tfmq.recon.workspace"));

    /** Switches the iteration workspace (benchmark reference only); returns the previous setting. */
    public static boolean useIterationWorkspace(boolean on) {
        boolean was = WORKSPACE_ON;
        WORKSPACE_ON = on;
        return was;
    }

    private static final java.util.concurrent.atomic.AtomicLong WORKSPACES = new java.util.concurrent.atomic.AtomicLong();

    private final ReconstructionSettings settings;

    public BlockReconstructor(ReconstructionSettings settings) { this.settings = settings; }

    /**
     * @param inputs  cached unit inputs, each [N, …] (same N)
     * @param target  cached FP outputs [N, …]
     * @param progress receives the iterations done as work on {@code item} of {@code phase}
     */
    Result train(BlockGraph graph, UnitKind kind, long macsPerSample, List<INDArray> inputs, INDArray target, Random rnd,
                 ProgressListener progress, String phase, String item) {
        List<AdaRoundQuantizer> qs = graph.learnables();
        if (qs.isEmpty()) throw new IllegalArgumentException("reconstruction unit has no learnable weights");
        int n = (int) target.size(0);
        int iterations = settings.iterations();
        progress.onWork(phase, item, 0, iterations, "iterations");
        double nearest = evaluate(graph, inputs, target, AdaRoundQuantizer.Mode.NEAREST);
        for (AdaRoundQuantizer q : qs) q.setMode(AdaRoundQuantizer.Mode.SOFT);
        Adam[] adam = new Adam[qs.size()];
        for (int i = 0; i < qs.size(); i++) adam[i] = new Adam(qs.get(i).size(), settings.lr());
        RoundingSchedule sched = new RoundingSchedule(settings.iterations(), settings.warmup(), settings.betaStart(), settings.betaEnd());
        int bs = Math.min(settings.batchSize(), n);
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        int[] idx = new int[bs];
        int[] traceAt = traceIterations(iterations);
        double[] trace = new double[traceAt.length];
        int nextTrace = 0;
        String wsId = "reconstruction-" + WORKSPACES.incrementAndGet();
        long loopStart = System.nanoTime();
        long warmupNanos = 0;
        long spilledAtWarmup = 0, spilledAtEnd = 0;
        try {
            for (int k = 0; k < iterations; k++) {
                dev.tfmq.model.nn.OffHeapGuard.check();
                for (int i = n - 1; i > n - 1 - bs && i > 0; i--) {
                    int j = rnd.nextInt(i + 1);
                    int t = perm[i];
                    perm[i] = perm[j];
                    perm[j] = t;
                }
                System.arraycopy(perm, n - bs, idx, 0, bs);
                boolean traced = nextTrace < traceAt.length && traceAt[nextTrace] == k + 1;
                try (MemoryWorkspace ws = WORKSPACE_ON ? Nd4j.getWorkspaceManager().getAndActivateWorkspace(ITERATION_WORKSPACE, wsId)
                        : Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                    INDArray[] in = gather(inputs, idx);
                    INDArray y = rows(target, idx);
                    for (AdaRoundQuantizer q : qs) q.zeroGrad();
                    INDArray out = graph.forward(in);
                    if (traced) trace[nextTrace++] = loss(out, y);
                    graph.backward(lossGradient(out, y));
                }
                if (sched.regularized(k)) {
                    double beta = sched.beta(k);
                    for (AdaRoundQuantizer q : qs) q.regularizer(beta, settings.lambda(), true);
                }
                for (int i = 0; i < qs.size(); i++) adam[i].step(qs.get(i).alpha(), qs.get(i).grad());
                if (k + 1 == Math.min(WARMUP_ITERATIONS, iterations)) {
                    warmupNanos = System.nanoTime() - loopStart;
                    spilledAtWarmup = outside(wsId);
                }
                progress.onWork(phase, item, k + 1, iterations, "iterations");
            }
            spilledAtEnd = outside(wsId);
        } finally {
            if (Nd4j.getWorkspaceManager().checkIfWorkspaceExists(wsId)) {
                Nd4j.getWorkspaceManager().destroyWorkspace(
                        Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(ITERATION_WORKSPACE, wsId));
            }
        }
        double loopSeconds = (System.nanoTime() - loopStart) / 1e9;
        double learned = evaluate(graph, inputs, target, AdaRoundQuantizer.Mode.HARD);
        for (AdaRoundQuantizer q : qs) {
            q.setMode(AdaRoundQuantizer.Mode.HARD);
            q.commit();
        }
        return new Result(kind, nearest, learned, iterations, loopSeconds, warmupNanos / 1e9, macsPerSample, bs,
                traceAt, trace, WORKSPACE_ON ? spilledAtEnd - spilledAtWarmup : -1);
    }

    /** Bytes allocated outside the workspace so far (spilled past its size, or pinned), 0 when it does not exist. */
    private static long outside(String wsId) {
        if (!WORKSPACE_ON || !Nd4j.getWorkspaceManager().checkIfWorkspaceExists(wsId)) return 0;
        MemoryWorkspace ws = Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(ITERATION_WORKSPACE, wsId);
        return ws instanceof Nd4jWorkspace w ? w.getSpilledSize() + w.getPinnedSize() : 0;
    }

    /** Up to {@link #TRACE_POINTS} iteration counts, evenly spaced from the first to the last iteration. */
    static int[] traceIterations(int iterations) {
        if (iterations <= 0) return new int[0];
        int points = Math.min(TRACE_POINTS, iterations);
        int[] at = new int[points];
        for (int i = 0; i < points; i++) {
            at[i] = points == 1 ? iterations : (int) Math.round(1 + (double) i * (iterations - 1) / (points - 1));
        }
        return at;
    }

    /** rec = Σ_features (ŷ − y)² / (B · spatial): the reference's lp_loss(p = 2), sum over dim 1, mean elsewhere. */
    static double loss(INDArray out, INDArray y) {
        double per = out.length() / out.size(1);
        INDArray d = out.sub(y);
        return d.mul(d).sumNumber().doubleValue() / per;
    }

    static INDArray lossGradient(INDArray out, INDArray y) {
        double per = out.length() / out.size(1);
        return out.sub(y).muli(2.0 / per);
    }

    /** The loss over the whole cached set in batches, with the learned weights in the given mode. */
    double evaluate(BlockGraph graph, List<INDArray> inputs, INDArray target, AdaRoundQuantizer.Mode mode) {
        for (AdaRoundQuantizer q : graph.learnables()) q.setMode(mode);
        int n = (int) target.size(0);
        double sum = 0;
        int bs = Math.max(1, settings.batchSize());
        for (int s = 0; s < n; s += bs) {
            int[] idx = new int[Math.min(bs, n - s)];
            for (int i = 0; i < idx.length; i++) idx[i] = s + i;
            INDArray out = graph.forward(gather(inputs, idx));
            sum += loss(out, rows(target, idx)) * idx.length;
        }
        return sum / n;
    }

    static INDArray[] gather(List<INDArray> inputs, int[] idx) {
        INDArray[] out = new INDArray[inputs.size()];
        for (int i = 0; i < out.length; i++) out[i] = rows(inputs.get(i), idx);
        return out;
    }

    static INDArray rows(INDArray a, int[] idx) {
        long per = a.length() / a.size(0);
        INDArray flat = a.reshape('c', a.size(0), per);
        INDArray picked = Nd4j.pullRows(flat, 1, idx);
        long[] shape = a.shape().clone();
        shape[0] = idx.length;
        return picked.reshape('c', shape);
    }
}
