package dev.tfmq.harness.run;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.actors.MetricAggregator;
import dev.tfmq.harness.eval.OnlineSelection;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The online selection's revisions as the run journal records them ({@code selection-revised} lines of
 * progress.jsonl), checked on resume against the checkpoint's. The checkpoint is the commit point, so it carries the
 * decisions and evidence a resumed run continues from; the journal is the readable record, and a resume whose two
 * records disagree about the revisions up to the commit point is refused rather than continued from either.
 * Revisions journaled after the last checkpoint were decided on batches that are sampled again, and are decided
 * again identically.
 */
public final class SelectionJournal {
    private SelectionJournal() {}

    /** A revision's identity: when it was decided, at which time-step, which way. */
    record Key(int decidedAfterBatch, long timestep, String from, String to) {}

    /** The journal's revisions decided at commits before {@code committedBatches}, once each, in journal order. */
    static List<Key> journaled(Path journal, int committedBatches) {
        Set<Key> out = new LinkedHashSet<>();
        if (!Files.exists(journal)) return List.of();
        try {
            for (String line : Files.readAllLines(journal)) {
                if (line.isBlank()) continue;
                JsonNode n;
                try {
                    n = RunDirectory.JSON.readTree(line);
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    // a line cut short by a kill -9 while it was written: nothing after it was committed either
                    continue;
                }
                if (!MetricAggregator.SELECTION_REVISED.equals(n.path("event").asText())) continue;
                int after = n.path("decided_after_batch").asInt(-1);
                if (after < 0 || after >= committedBatches) continue;
                out.add(new Key(after, n.path("timestep").asLong(), n.path("from").asText(), n.path("to").asText()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the run journal " + journal, e);
        }
        return new ArrayList<>(out);
    }

    /**
     * Fails when the journal and the checkpoint disagree about the revisions up to the checkpoint; returns how many
     * the resumed run continues with.
     */
    public static int checkAgainst(RunDirectory dir, Checkpoint checkpoint) {
        List<Key> fromCheckpoint = new ArrayList<>();
        if (checkpoint.online() != null) {
            for (OnlineSelection.Revision r : checkpoint.online().revisions()) {
                fromCheckpoint.add(new Key(r.decidedAfterBatch(), r.timestep(), r.from(), r.to()));
            }
        }
        List<Key> fromJournal = journaled(dir.file("progress.jsonl"), checkpoint.committedBatches());
        if (!fromJournal.equals(fromCheckpoint)) {
            throw new IllegalStateException("cannot resume " + dir.root() + ": the journal records the selection revisions "
                    + fromJournal + " up to batch " + checkpoint.committedBatches() + ", the checkpoint " + fromCheckpoint
                    + "; the run directory was altered, start a new one");
        }
        return fromCheckpoint.size();
    }
}
