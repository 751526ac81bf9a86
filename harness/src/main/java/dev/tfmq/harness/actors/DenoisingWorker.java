package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.eval.Tensor;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.pipeline.Nd4jThreads;
import dev.tfmq.harness.pipeline.TrajectoryStepper;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Owns one side's model (created on the worker's own dispatcher thread, never shared) and advances the current
 * batch one step per {@link RunStep}. After each step it reports x_t, the model output, its temporal features and —
 * on the quantized side — its output on the FP trajectory's x_t (probe rows) to the monitor, and tells the
 * conductor it is done. The FP side also hands the conductor the first probe rows of its next x_t.
 *
 * <p>Under a selection by the output error, the quantized side also runs the probe rows under every candidate serving
 * (the applied one's output is the probe output itself; each other candidate costs one forward pass of the probe
 * rows), so the monitor can compare the candidates' errors on the same FP input at every step.
 */
public final class DenoisingWorker {
    public sealed interface Command extends CborMessage permits RunStep, ProbeTemporal, ApplySelection {}

    /**
     * Step {@code step} of {@code batch}; step 0 starts the batch from x_T, with {@code selection} applied first when
     * it is not null (the batch's table under online selection).
     */
    public record RunStep(BatchSpec batch, int step, Tensor probeInput, SelectionTable selection,
                          ActorRef<BatchConductor.Command> replyTo) implements Command {}

    /** Report every strategy's temporal features at these time-steps (for the selector). */
    public record ProbeTemporal(long[] timesteps, ActorRef<DisturbanceMonitor.Command> replyTo) implements Command {}

    public record ApplySelection(SelectionTable table, ActorRef<RunCoordinator.Command> replyTo) implements Command {}

    /** What a worker needs to build its stepper on its own thread. */
    public interface StepperFactory extends Function<DenoiserSide, TrajectoryStepper> {}

    private DenoisingWorker() {}

    /**
     * @param side         "fp" or "quantized"
     * @param model        creates the side's model (called once, on this worker's thread)
     * @param probeSamples rows of x_t the FP side forwards for the quantized side's one-step error
     */
    public static Behavior<Command> create(String side, java.util.function.Supplier<DenoiserSide> model,
                                           StepperFactory stepper, int nd4jThreads, int probeSamples,
                                           ActorRef<DisturbanceMonitor.Command> monitor) {
        return Behaviors.setup(ctx -> {
            Nd4jThreads.limitCurrentThread(nd4jThreads);
            DenoiserSide m = model.get();
            TrajectoryStepper s = stepper.apply(m);
            boolean fp = side.equals("fp");
            long[] forwardNanos = {0};
            SelectionTable[] applied = {null};
            return Behaviors.receive(Command.class)
                    .onMessage(RunStep.class, r -> {
                        if (r.step() == 0) {
                            if (!fp && r.selection() != null) {
                                m.apply(r.selection());
                                applied[0] = r.selection();
                            }
                            s.begin(r.batch().ids());
                            forwardNanos[0] = 0;
                        } else if (s.nextStep() != r.step()) {
                            throw new IllegalStateException(side + " worker at step " + s.nextStep() + " was asked for step " + r.step());
                        }
                        long t = s.schedule().timestep(r.step());
                        long t0 = System.nanoTime();
                        Tensor probeOut = null;
                        if (!fp && r.probeInput() != null) probeOut = Tensor.of(s.probe(r.probeInput().toArray()));
                        Tensor xt = Tensor.of(s.current());
                        int rows = Math.min(probeSamples, r.batch().size());
                        boolean candidates = !fp && applied[0] != null && applied[0].byOutput() && probeSamples > 0;
                        // x_T is the same noise on both sides, so the FP input of step 0 is this side's own x_T
                        Tensor probeRows = !candidates ? null : r.step() == 0 ? Tensor.rows(s.current(), 0, rows) : r.probeInput();
                        s.step();
                        if (!fp && r.step() == 0 && probeSamples > 0) {
                            // ... and the one-step probe of step 0 is the output itself
                            probeOut = Tensor.rows(s.lastOutput(), 0, rows);
                        }
                        Map<String, Tensor> candidateProbes = candidates
                                ? candidateOutputs(m, applied[0].stepChoice(t), probeOut, probeRows, t) : null;
                        forwardNanos[0] += System.nanoTime() - t0;
                        Tensor eps = Tensor.of(s.lastOutput());
                        Map<String, float[]> temporal = m.appliedTemporalFeatures(t);
                        monitor.tell(new DisturbanceMonitor.StepReport(side, r.batch(), r.step(), t, xt, eps, probeOut, temporal,
                                candidateProbes));
                        boolean last = s.finished();
                        Tensor probeNext = fp && !last && probeSamples > 0
                                ? Tensor.rows(s.current(), 0, Math.min(probeSamples, r.batch().size())) : null;
                        Tensor images = last ? Tensor.of(s.current()) : null;
                        r.replyTo().tell(new BatchConductor.Stepped(side, r.batch().index(), r.step(), probeNext, images,
                                last ? forwardNanos[0] : 0));
                        return Behaviors.same();
                    })
                    .onMessage(ProbeTemporal.class, p -> {
                        Map<Long, Map<String, Map<String, float[]>>> byT = new LinkedHashMap<>();
                        List<String> strategies = m.strategies();
                        for (long t : p.timesteps()) {
                            Map<String, Map<String, float[]>> byStrategy = new LinkedHashMap<>();
                            for (String st : strategies) byStrategy.put(st, m.temporalFeatures(t, st));
                            byT.put(t, byStrategy);
                        }
                        p.replyTo().tell(new DisturbanceMonitor.TemporalProbeReport(side, strategies, m.members(), byT,
                                m.calibratedSelection().orElse(null)));
                        return Behaviors.same();
                    })
                    .onMessage(ApplySelection.class, a -> {
                        if (!fp) {
                            m.apply(a.table());
                            applied[0] = a.table();
                        }
                        a.replyTo().tell(new RunCoordinator.SelectionApplied(side));
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    /** The probe rows' outputs under every candidate: the applied serving's is {@code appliedOut}, the others run now. */
    private static Map<String, Tensor> candidateOutputs(DenoiserSide m, String appliedServing, Tensor appliedOut, Tensor probeRows, long t) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        INDArray x = probeRows.toArray();
        long[] ts = new long[probeRows.rows()];
        java.util.Arrays.fill(ts, t);
        for (String c : m.strategies()) {
            if (c.equals(appliedServing)) {
                out.put(c, appliedOut);
            } else {
                INDArray o = Nd4j.create(DataType.FLOAT, x.shape());
                m.predictWith(c, x, ts, o);
                out.put(c, Tensor.of(o));
            }
        }
        return out;
    }
}
