package dev.tfmq.strategies.recon;

import dev.tfmq.strategies.recipe.ProgressListener;
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
    /** Reconstruction error of the unit on the whole cached set with round-to-nearest and with the learned rounding. */
    public record Result(double nearestLoss, double learnedLoss, int iterations) {}

    private final ReconstructionSettings settings;

    public BlockReconstructor(ReconstructionSettings settings) { this.settings = settings; }

    /**
     * @param inputs  cached unit inputs, each [N, …] (same N)
     * @param target  cached FP outputs [N, …]
     * @param progress receives the iterations done as work on {@code item} of {@code phase}
     */
    Result train(BlockGraph graph, List<INDArray> inputs, INDArray target, Random rnd, ProgressListener progress,
                 String phase, String item) {
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
        for (int k = 0; k < settings.iterations(); k++) {
            dev.tfmq.model.nn.OffHeapGuard.check();
            for (int i = n - 1; i > n - 1 - bs && i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            int[] idx = java.util.Arrays.copyOfRange(perm, n - bs, n);
            INDArray[] in = gather(inputs, idx);
            INDArray y = rows(target, idx);
            for (AdaRoundQuantizer q : qs) q.zeroGrad();
            INDArray out = graph.forward(in);
            graph.backward(lossGradient(out, y));
            if (sched.regularized(k)) {
                double beta = sched.beta(k);
                for (AdaRoundQuantizer q : qs) q.regularizer(beta, settings.lambda(), true);
            }
            for (int i = 0; i < qs.size(); i++) adam[i].step(qs.get(i).alpha(), qs.get(i).grad());
            progress.onWork(phase, item, k + 1, iterations, "iterations");
        }
        double learned = evaluate(graph, inputs, target, AdaRoundQuantizer.Mode.HARD);
        for (AdaRoundQuantizer q : qs) {
            q.setMode(AdaRoundQuantizer.Mode.HARD);
            q.commit();
        }
        return new Result(nearest, learned, settings.iterations());
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
