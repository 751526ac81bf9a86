package dev.tfmq.strategies.temporal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-time-step selection by the output error that keeps learning while sampling runs: it starts from a decision
 * per time-step (the calibration-time table), accumulates the paired ε̂ errors of both candidates per time-step as
 * probe samples arrive ({@link #observe}), and on {@link #revise} flips the decisions the {@link SettlingRule}
 * demands. A step flips at most once, so the table settles. Deterministic: the same observations in the same order
 * give the same revisions, which is what lets a resumed or clustered run reproduce them.
 */
public final class OnlineOutputSelection {
    /** A flipped decision and the evidence that flipped it ({@code low}, {@code high}: interval of e_TIB − e_cache). */
    public record Revision(long timestep, MaintenanceStrategy from, MaintenanceStrategy to, long n, double meanTib,
                           double meanCache, double meanDifference, double low, double high) {}

    /** One time-step's decision, whether it already flipped, and its evidence. */
    public record StepState(long timestep, MaintenanceStrategy choice, boolean settled, PairedErrors.State errors) {}

    /** Serialisable contents (time-steps in the decision table's order). */
    public record State(List<StepState> steps) {}

    private static final class Step {
        MaintenanceStrategy choice;
        boolean settled;
        final PairedErrors errors;

        Step(MaintenanceStrategy choice, boolean settled, PairedErrors errors) {
            this.choice = choice;
            this.settled = settled;
            this.errors = errors;
        }
    }

    private final SettlingRule rule;
    private final Map<Long, Step> steps = new LinkedHashMap<>();

    /** @param initial time-step → the decision to start from */
    public OnlineOutputSelection(Map<Long, MaintenanceStrategy> initial, SettlingRule rule) {
        if (initial.isEmpty()) throw new IllegalArgumentException("online selection needs a decision for at least one time-step");
        this.rule = rule;
        initial.forEach((t, s) -> steps.put(t, new Step(s, false, new PairedErrors())));
    }

    /** Starts from a calibration-time table selected by the output measure. */
    public static OnlineOutputSelection from(SelectionTable calibrated, SettlingRule rule) {
        if (calibrated.measure() != SelectionMeasure.OUTPUT) {
            throw new IllegalArgumentException("online output selection starts from a table selected by the output measure, not by " + calibrated.measure());
        }
        Map<Long, MaintenanceStrategy> initial = new LinkedHashMap<>();
        calibrated.perTimestep().forEach((t, c) -> initial.put(t, c.strategy()));
        return new OnlineOutputSelection(initial, rule);
    }

    public static OnlineOutputSelection restore(State s, SettlingRule rule) {
        Map<Long, MaintenanceStrategy> initial = new LinkedHashMap<>();
        for (StepState st : s.steps()) initial.put(st.timestep(), st.choice());
        OnlineOutputSelection o = new OnlineOutputSelection(initial, rule);
        for (StepState st : s.steps()) o.steps.put(st.timestep(), new Step(st.choice(), st.settled(), new PairedErrors(st.errors())));
        return o;
    }

    public SettlingRule rule() { return rule; }

    /** Paired probe samples at time-step t: tib[i] and cache[i] are the same input under each serving. */
    public void observe(long t, double[] tib, double[] cache) {
        if (tib.length != cache.length) {
            throw new IllegalArgumentException("t = " + t + ": " + tib.length + " TIB errors but " + cache.length + " cache errors");
        }
        PairedErrors e = step(t).errors;
        for (int i = 0; i < tib.length; i++) e.add(tib[i], cache[i]);
    }

    /** Flips, in time-step order, every unsettled decision the evidence now overturns; returns the flips. */
    public List<Revision> revise() {
        List<Revision> out = new ArrayList<>();
        steps.forEach((t, s) -> {
            if (s.settled) return;
            MaintenanceStrategy next = rule.decide(s.choice, s.errors);
            if (next == s.choice) return;
            double[] ci = rule.interval(s.errors);
            out.add(new Revision(t, s.choice, next, s.errors.n(), s.errors.meanTib(), s.errors.meanCache(),
                    s.errors.meanDifference(), ci[0], ci[1]));
            s.choice = next;
            s.settled = true;
        });
        return out;
    }

    public MaintenanceStrategy choice(long t) { return step(t).choice; }

    public boolean settled(long t) { return step(t).settled; }

    /** The evidence at time-step t (a live view: do not modify). */
    public PairedErrors errors(long t) { return step(t).errors; }

    public List<Long> timesteps() { return List.copyOf(steps.keySet()); }

    /** The current decisions as a table, with each step's online mean errors (NaN where nothing was observed yet). */
    public SelectionTable table() {
        SelectionTable t = new SelectionTable(SelectionTable.Granularity.STEP, DisturbanceMetric.REL_L2, SelectionMeasure.OUTPUT);
        steps.forEach((ts, s) -> t.put(ts, new SelectionTable.Choice(s.choice,
                s.errors.n() == 0 ? Double.NaN : s.errors.meanTib(), s.errors.n() == 0 ? Double.NaN : s.errors.meanCache())));
        return t;
    }

    public State state() {
        List<StepState> out = new ArrayList<>();
        steps.forEach((t, s) -> out.add(new StepState(t, s.choice, s.settled, s.errors.state())));
        return new State(out);
    }

    private Step step(long t) {
        Step s = steps.get(t);
        if (s == null) throw new IllegalArgumentException("online selection has no decision for time-step " + t + " (it decides " + steps.keySet() + ")");
        return s;
    }
}
