package dev.tfmq.harness.eval;

import dev.tfmq.strategies.temporal.MaintenanceStrategy;
import dev.tfmq.strategies.temporal.OnlineOutputSelection;
import dev.tfmq.strategies.temporal.OutputErrors;
import dev.tfmq.strategies.temporal.PairedErrors;
import dev.tfmq.strategies.temporal.SettlingRule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's online revision of a table selected by the output error, batch by batch. Each committed batch's probe
 * errors go to the strategies module's {@link OnlineOutputSelection} (the decision rule: paired difference outside
 * its confidence interval, at least min-samples, one flip per step), in batch order; a revision decided when batch
 * c is committed applies from batch c + delay on.
 *
 * <p>Why the delay: batch b's table must be known when b is handed out, so b may start only once batch b − delay is
 * committed. With a delay of 2 a single node never waits (it holds at most one finished batch uncommitted while it
 * samples the next); a cluster of N workers keeps N batches in flight with a delay of N + 1. The table of every batch
 * is thus a function of the committed batches before it: a resumed or clustered run samples each batch with the
 * same table and ends with the same numbers.
 */
public final class OnlineSelection {
    /** What the config fixes: the rule and the delay. */
    public record Settings(int minSamples, double confidence, int delayBatches) {
        public Settings {
            if (delayBatches < 1) throw new IllegalArgumentException("online selection delay must be at least 1 batch, got " + delayBatches);
        }

        SettlingRule rule() { return new SettlingRule(minSamples, confidence); }
    }

    /**
     * One flipped decision as the run records it (journal, summary, dashboard): decided when batch
     * {@code decidedAfterBatch} was committed, in force from batch {@code fromBatch}; {@code low}/{@code high}: the
     * interval of the mean of e_tib − e_cache over {@code n} paired probe samples.
     */
    public record Revision(int decidedAfterBatch, int fromBatch, int step, long timestep, String from, String to, long n,
                           double meanTib, double meanCache, double meanDifference, double low, double high) {}

    /** Checkpoint contents. */
    public record State(OnlineOutputSelection.State decisions, List<Revision> revisions) {}

    /** One time-step as the dashboard and summary show it. */
    public record StepRow(int step, long timestep, String choice, boolean revised, long n, double meanTib, double meanCache,
                          double low, double high) {}

    /** What the dashboard and Prometheus get after every commit. */
    public record View(List<StepRow> steps, List<Revision> revisions, int minSamples, double confidence, int delayBatches) {}

    private final SelectionTable initial;
    private final long[] timesteps;
    private final Settings settings;
    private final OnlineOutputSelection decisions;
    private final List<Revision> revisions = new ArrayList<>();

    /** @param timesteps the schedule's time-steps in step order (the order of a batch's probe errors) */
    public OnlineSelection(SelectionTable initial, long[] timesteps, Settings settings) {
        this(initial, timesteps, settings, null);
    }

    private OnlineSelection(SelectionTable initial, long[] timesteps, Settings settings, State restored) {
        if (!initial.byOutput()) throw new IllegalArgumentException("online selection revises tables selected by the output error, not by " + initial.metric());
        this.initial = initial;
        this.timesteps = timesteps.clone();
        this.settings = settings;
        if (restored == null) {
            Map<Long, MaintenanceStrategy> start = new LinkedHashMap<>();
            for (long t : timesteps) start.put(t, strategy(initial.stepChoice(t)));
            decisions = new OnlineOutputSelection(start, settings.rule());
        } else {
            decisions = OnlineOutputSelection.restore(restored.decisions(), settings.rule());
            revisions.addAll(restored.revisions());
        }
    }

    /** Continues from a checkpoint. */
    public static OnlineSelection restore(SelectionTable initial, long[] timesteps, Settings settings, State state) {
        return new OnlineSelection(initial, timesteps, settings, state);
    }

    public Settings settings() { return settings; }

    public SelectionTable initial() { return initial; }

    /**
     * Batch {@code batchIndex} is committed with these probe errors (null: the batch had no probe rows): observes
     * them and returns the decisions it flips, which apply from batch {@code batchIndex + delay}.
     */
    public List<Revision> commit(int batchIndex, OutputErrors errors) {
        if (errors == null) return List.of();
        if (!java.util.Arrays.equals(errors.timesteps(), timesteps)) {
            throw new IllegalArgumentException("batch " + batchIndex + " measured output errors at other time-steps than the run's schedule");
        }
        for (int k = 0; k < timesteps.length; k++) decisions.observe(timesteps[k], errors.tib()[k], errors.cache()[k]);
        List<Revision> out = new ArrayList<>();
        for (OnlineOutputSelection.Revision r : decisions.revise()) {
            out.add(new Revision(batchIndex, batchIndex + settings.delayBatches(), stepOf(r.timestep()), r.timestep(), name(r.from()),
                    name(r.to()), r.n(), r.meanTib(), r.meanCache(), r.meanDifference(), r.low(), r.high()));
        }
        revisions.addAll(out);
        return out;
    }

    /** The table batch {@code batch} is sampled with: the initial one with every revision in force by then. */
    public SelectionTable tableFor(int batch) {
        Map<Long, String> changes = new LinkedHashMap<>();
        Map<Long, Map<String, Double>> evidence = new LinkedHashMap<>();
        for (Revision r : revisions) {
            if (r.fromBatch() > batch) continue;
            changes.put(r.timestep(), r.to());
            evidence.put(r.timestep(), Map.of(SelectionTable.TIB, r.meanTib(), SelectionTable.CACHE, r.meanCache()));
        }
        return changes.isEmpty() ? initial : initial.revised(changes, evidence);
    }

    /** Every revision so far, in the order decided. */
    public List<Revision> revisions() { return List.copyOf(revisions); }

    public View view() {
        double z = settings.rule().z();
        List<StepRow> rows = new ArrayList<>();
        for (int k = 0; k < timesteps.length; k++) {
            long t = timesteps[k];
            PairedErrors e = decisions.errors(t);
            double h = e.halfWidth(z);
            rows.add(new StepRow(k, t, name(decisions.choice(t)), decisions.settled(t), e.n(), e.meanTib(), e.meanCache(),
                    e.meanDifference() - h, e.meanDifference() + h));
        }
        return new View(rows, revisions(), settings.minSamples(), settings.confidence(), settings.delayBatches());
    }

    public State state() { return new State(decisions.state(), revisions()); }

    private int stepOf(long t) {
        for (int k = 0; k < timesteps.length; k++) if (timesteps[k] == t) return k;
        throw new IllegalArgumentException("time-step " + t + " is not in the schedule");
    }

    private static MaintenanceStrategy strategy(String candidate) {
        return switch (candidate) {
            case SelectionTable.TIB -> MaintenanceStrategy.TIB;
            case SelectionTable.CACHE -> MaintenanceStrategy.CACHE;
            default -> throw new IllegalArgumentException("output tables serve by tib or cache, not '" + candidate + "'");
        };
    }

    private static String name(MaintenanceStrategy s) {
        return s == MaintenanceStrategy.CACHE ? SelectionTable.CACHE : SelectionTable.TIB;
    }
}
