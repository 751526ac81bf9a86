package dev.tfmq.harness.run;

import dev.tfmq.harness.actors.BatchSpec;
import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.eval.QualityAccumulator;
import dev.tfmq.harness.eval.QualitySnapshot;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.metrics.paired.PairedImageMetrics;
import dev.tfmq.strategies.temporal.OutputErrors;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything the final numbers of a run depend on, updated one committed batch at a time in batch order, and
 * convertible to and from a {@link Checkpoint}.
 */
public final class RunState {
    private final String fingerprint;
    private final QualityAccumulator quality;
    private final DisturbanceTable disturbance;
    private final List<QualitySnapshot> history = new ArrayList<>();
    private SelectionTable selection;
    private OnlineSelection online;
    /** The checkpoint's online state, until sampling starts and the online selection is rebuilt from it. */
    private OnlineSelection.State restoredOnline;
    private int committedBatches;
    private long samples;

    public RunState(String fingerprint, QualityAccumulator quality, DisturbanceTable disturbance) {
        this.fingerprint = fingerprint;
        this.quality = quality;
        this.disturbance = disturbance;
    }

    public static RunState restore(Checkpoint c, String fingerprint, QualityAccumulator.Options options,
                                   QualityAccumulator.Reference reference) {
        if (!c.fingerprint().equals(fingerprint)) {
            throw new IllegalArgumentException("the checkpoint was written by a run with different inputs (fingerprint "
                    + c.fingerprint() + ", this run " + fingerprint + "): the config, model or recipe changed; start a new run directory");
        }
        RunState s = new RunState(fingerprint, QualityAccumulator.fromBytes(c.quality(), options, reference), DisturbanceTable.of(c.disturbance()));
        s.history.addAll(c.history());
        s.selection = c.selection();
        s.restoredOnline = c.online();
        s.committedBatches = c.committedBatches();
        s.samples = c.samples();
        return s;
    }

    public int committedBatches() { return committedBatches; }

    public long samples() { return samples; }

    public SelectionTable selection() { return selection; }

    public void selection(SelectionTable table) { this.selection = table; }

    /**
     * Sampling starts with {@code table}: an output table is revised online from here on (continuing the
     * checkpoint's revisions on a resume); returns the online selection, or null for a table decided once.
     */
    public OnlineSelection startSampling(SelectionTable table, long[] timesteps, OnlineSelection.Settings settings) {
        selection = table;
        if (!table.byOutput()) return online = null;
        online = restoredOnline == null ? new OnlineSelection(table, timesteps, settings)
                : OnlineSelection.restore(table, timesteps, settings, restoredOnline);
        restoredOnline = null;
        return online;
    }

    /** The online revision of an output table, or null. */
    public OnlineSelection online() { return online; }

    public DisturbanceTable disturbance() { return disturbance; }

    public List<QualitySnapshot> history() { return List.copyOf(history); }

    /**
     * Adds batch {@code committedBatches()}; batches must come in order. Returns the selection revisions its probe
     * errors decide (empty unless an output table is revised online).
     */
    public List<OnlineSelection.Revision> commit(BatchSpec batch, ImageFeaturizer.Extracted fp, ImageFeaturizer.Extracted q,
                                                 PairedImageMetrics.PerSample paired, DisturbanceTable batchDisturbance,
                                                 OutputErrors outputErrors) {
        if (batch.index() != committedBatches) {
            throw new IllegalStateException("batch " + batch.index() + " committed out of order (expected " + committedBatches + ")");
        }
        quality.add(batch.ids(), fp, q, paired);
        disturbance.add(batchDisturbance);
        committedBatches++;
        samples += batch.size();
        return online == null ? List.of() : online.commit(batch.index(), outputErrors);
    }

    /** Computes the metrics now (all intervals when {@code full}) and appends them to the history. */
    public QualitySnapshot evaluate(boolean full) {
        QualitySnapshot s = quality.evaluate(full);
        if (!history.isEmpty() && history.get(history.size() - 1).n() == s.n()) history.set(history.size() - 1, s);
        else history.add(s);
        return s;
    }

    public Checkpoint checkpoint() {
        return new Checkpoint(Checkpoint.VERSION, fingerprint, committedBatches, samples, selection, disturbance.state(),
                List.copyOf(history), quality.toBytes(), online == null ? restoredOnline : online.state());
    }
}
