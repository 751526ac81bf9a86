package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.eval.SelectionPolicy;
import dev.tfmq.harness.eval.StepMeasures;
import dev.tfmq.harness.eval.Tensor;
import dev.tfmq.strategies.temporal.OutputErrors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Receives both workers' reports of every step and computes the per-time-step disturbance online (the numerics are
 * in {@link StepMeasures} and {@link DisturbanceTable}); passes each batch's table to the aggregator when its last
 * step is in, and feeds the strategy selector — with every candidate's temporal-feature disturbance at every sampling
 * time-step before sampling starts, and with the applied strategy's disturbance at every step while it runs. Under
 * a selection by the output error it also measures every candidate's ε̂ error on the FP probe rows per step and
 * hands a batch's errors to the aggregator with its table (the selection is revised where batches are committed,
 * in batch order, so every node and every resume revises alike).
 */
public final class DisturbanceMonitor {
    public sealed interface Command extends CborMessage permits StepReport, TemporalProbeReport {}

    /**
     * One side's step: x_t (model input), its output, the quantized model's output on FP probe rows (quantized side
     * only, else null), the temporal features it used, by TIB member, and — under a selection by the output error —
     * the probe rows' output under every candidate serving (else null).
     */
    public record StepReport(String side, BatchSpec batch, int step, long timestep, Tensor xt, Tensor eps,
                             Tensor probeOut, Map<String, float[]> temporal, Map<String, Tensor> candidateProbes) implements Command {}

    /**
     * Every strategy's temporal features (strategy → member → vector) at every probed time-step, and the side's
     * calibration-time table when the run is to start from it (null otherwise).
     */
    public record TemporalProbeReport(String side, List<String> strategies, List<String> members,
                                      Map<Long, Map<String, Map<String, float[]>>> byTimestep, SelectionTable calibrated)
            implements Command {}

    private DisturbanceMonitor() {}

    /** Per probe row: relative L2 of the candidate's output against the FP output on the same FP input. */
    static double[] candidateErrors(Map<String, Tensor> probes, String candidate, Tensor fpEps) {
        Tensor c = probes.get(candidate);
        if (c == null) throw new IllegalStateException("the quantized side reported no probe output under '" + candidate + "' (has " + probes.keySet() + ")");
        int d = fpEps.rowLength();
        float[] fp = java.util.Arrays.copyOf(fpEps.data(), c.rows() * d);
        return OutputErrors.perRow(c.data(), fp, d);
    }

    public static Behavior<Command> create(long[] timesteps, String metric, ActorRef<StrategySelector.Command> selector,
                                           ActorRef<MetricAggregator.Command> aggregator) {
        return Behaviors.setup(ctx -> {
            Map<String, TemporalProbeReport> probes = new HashMap<>();
            Map<String, StepReport> pending = new HashMap<>();
            Map<Integer, DisturbanceTable> tables = new HashMap<>();
            Map<Integer, double[][][]> outputErrors = new HashMap<>();
            List<String>[] members = new List[1];
            return Behaviors.receive(Command.class)
                    .onMessage(TemporalProbeReport.class, p -> {
                        probes.put(p.side(), p);
                        TemporalProbeReport fp = probes.get("fp"), q = probes.get("quantized");
                        if (fp != null && q != null) {
                            if (!fp.members().equals(q.members())) {
                                throw new IllegalStateException("FP and quantized models have different TIB members: "
                                        + fp.members() + " vs " + q.members());
                            }
                            members[0] = fp.members();
                            Map<Long, Map<String, Map<String, Double>>> measured = new LinkedHashMap<>();
                            for (Map.Entry<Long, Map<String, Map<String, float[]>>> e : q.byTimestep().entrySet()) {
                                Map<String, float[]> ref = fp.byTimestep().get(e.getKey()).get("fp");
                                measured.put(e.getKey(), SelectionPolicy.measure(metric, q.strategies(), fp.members(), ref, e.getValue()));
                            }
                            selector.tell(new StrategySelector.ProbeMeasured(q.strategies(), fp.members(), measured, q.calibrated()));
                            probes.clear();
                        }
                        return Behaviors.same();
                    })
                    .onMessage(StepReport.class, r -> {
                        String key = r.batch().index() + ":" + r.step();
                        StepReport other = pending.remove(key);
                        if (other == null) {
                            pending.put(key, r);
                            return Behaviors.same();
                        }
                        StepReport fp = r.side().equals("fp") ? r : other;
                        StepReport q = r.side().equals("fp") ? other : r;
                        if (members[0] == null) throw new IllegalStateException("step reports arrived before the temporal probe");
                        StepMeasures m = StepMeasures.compute(fp.eps(), q.eps(), fp.xt(), q.xt(), q.probeOut(), fp.temporal(), q.temporal());
                        DisturbanceTable table = tables.computeIfAbsent(r.batch().index(), i -> new DisturbanceTable(timesteps, members[0]));
                        table.record(r.step(), m);
                        if (q.candidateProbes() != null) {
                            outputErrors.computeIfAbsent(r.batch().index(), i -> new double[2][timesteps.length][])
                                    [0][r.step()] = candidateErrors(q.candidateProbes(), SelectionTable.TIB, fp.eps());
                            outputErrors.get(r.batch().index())[1][r.step()] = candidateErrors(q.candidateProbes(), SelectionTable.CACHE, fp.eps());
                        }
                        selector.tell(new StrategySelector.StepObserved(r.step(), r.timestep(), m.temporalRelL2()));
                        if (r.step() == timesteps.length - 1) {
                            tables.remove(r.batch().index());
                            double[][][] e = outputErrors.remove(r.batch().index());
                            aggregator.tell(new MetricAggregator.BatchDisturbance(r.batch(), table.state(),
                                    e == null ? null : new OutputErrors(timesteps.clone(), e[0], e[1])));
                        }
                        return Behaviors.same();
                    })
                    .build();
        });
    }
}
