package dev.tfmq.harness.run;

import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.eval.QualitySnapshot;
import dev.tfmq.harness.eval.SelectionTable;

import java.util.List;

/**
 * The commit point of a run: everything the final numbers depend on after {@code committedBatches} batches (written
 * atomically, so a crash leaves the previous checkpoint intact). Batches after it are generated again on resume and
 * were never counted.
 *
 * @param fingerprint hash of what the numbers depend on (resolved config without presentation keys, model, recipe);
 *                    a resume with a different fingerprint is refused
 * @param quality     {@link dev.tfmq.harness.eval.QualityAccumulator#toBytes()}
 * @param selection   the table sampling started with
 * @param online      the online revision of an output table: every step's evidence and the revisions so far (null for
 *                    a table decided once; added after version 1 without a version change: older checkpoints read as
 *                    null, and older code refuses a checkpoint that has it)
 */
public record Checkpoint(int version, String fingerprint, int committedBatches, long samples, SelectionTable selection,
                         DisturbanceTable.State disturbance, List<QualitySnapshot> history, byte[] quality,
                         OnlineSelection.State online) {
    public static final int VERSION = 1;
}
