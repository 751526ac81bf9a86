package dev.tfmq.strategies.recon;

import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.quant.LayerPolicy;
import dev.tfmq.strategies.quant.WeightInit;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.recipe.ProgressListener;
import dev.tfmq.strategies.recipe.QuantizationRecipe.TibReconstruction;
import dev.tfmq.strategies.temporal.TemporalInformationBlock;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The reconstruction loop: its workspace changes no number and leaves no allocation after the warm-up, its loss trace
 * and timings reach the provenance record, and the blocks phase reports one counted task for all its units.
 */
class ReconstructionLoopTest {
    private static final ReconstructionSettings SETTINGS =
            new ReconstructionSettings(true, TibReconstruction.TIAR, true, 30, 8, 0.01, 20, 2, 0.2, 1e-2, 5);

    private record Run(Map<String, BlockReconstructor.Result> results, Map<String, int[]> codes, List<String> work) {}

    private static Run withWorkspace;

    private static synchronized Run reconstructed() {
        if (withWorkspace == null) withWorkspace = reconstruct(true);
        return withWorkspace;
    }

    private static Run reconstruct(boolean workspace) {
        UNet2DModel m = TinyModels.random(12);
        CalibrationStore store = WeightReconstructionTest.data(m);
        WeightQuantization wq = new WeightQuantization(m, LayerPolicy.defaults(), 3);
        wq.initializeAll(WeightInit.MSE);
        List<String> work = new ArrayList<>();
        ProgressListener listener = new ProgressListener() {
            @Override
            public void onProgress(String phase, String detail) { }

            @Override
            public void onWork(String phase, String item, long done, long total, String unit) {
                work.add(phase + "|" + item + "|" + done + "|" + total + "|" + unit);
            }
        };
        WeightReconstruction wr = new WeightReconstruction(m, new TemporalInformationBlock(m), wq, SETTINGS, listener);
        int[] idx = new int[store.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        boolean was = BlockReconstructor.useIterationWorkspace(workspace);
        try {
            wr.run(store, idx);
        } finally {
            BlockReconstructor.useIterationWorkspace(was);
        }
        Map<String, int[]> codes = new LinkedHashMap<>();
        wq.quantizers().forEach((p, q) -> codes.put(p, q.codes()));
        return new Run(new LinkedHashMap<>(wr.results()), codes, work);
    }

    @Test
    void theIterationWorkspaceChangesNothingAndAllocatesNothingAfterTheWarmUp() {
        Run with = reconstructed();
        Run without = reconstruct(false);
        assertEquals(without.codes().keySet(), with.codes().keySet());
        for (String p : with.codes().keySet()) {
            assertArrayEquals(without.codes().get(p), with.codes().get(p), p + ": learned rounding differs with the workspace");
        }
        for (var e : with.results().entrySet()) {
            BlockReconstructor.Result r = e.getValue(), o = without.results().get(e.getKey());
            assertEquals(o.learnedLoss(), r.learnedLoss(), 0.0, e.getKey());
            assertArrayEquals(o.traceLoss(), r.traceLoss(), 0.0, e.getKey());
            assertEquals(0, r.steadySpilledBytes(), e.getKey() + ": iterations after the warm-up allocated outside the workspace");
            assertEquals(-1, o.steadySpilledBytes());
        }
    }

    @Test
    void traceTimingsAndTheProvenanceRecord() throws Exception {
        Run run = reconstructed();
        BlockReconstructor.Result tib = run.results().get("TIB");
        assertEquals(UnitKind.TIB, tib.kind());
        assertArrayEquals(new int[] {1, 4, 7, 10, 13, 16, 18, 21, 24, 27, 30}, tib.traceIterations());
        assertArrayEquals(new int[] {1, 2, 3}, BlockReconstructor.traceIterations(3));
        for (var e : run.results().entrySet()) {
            BlockReconstructor.Result r = e.getValue();
            assertEquals(30, r.iterations());
            assertTrue(r.seconds() > 0 && r.warmupSeconds() > 0 && r.warmupSeconds() < r.seconds(), e.getKey());
            assertTrue(r.macsPerSample() > 0, e.getKey());
            assertTrue(r.traceLoss()[r.traceLoss().length - 1] < r.traceLoss()[0],
                    e.getKey() + ": mini-batch loss did not fall " + Arrays.toString(r.traceLoss()));
        }
        assertEquals(UnitKind.ATTENTION, run.results().get("mid_block.attentions.0").kind());
        assertEquals(UnitKind.RESNET, run.results().get("mid_block.resnets.0").kind());
        assertEquals(UnitKind.LAYER, run.results().get("up_blocks.0.upsamplers.0.conv").kind());

        JsonNode json = new ObjectMapper().readTree(ReconstructionReport.json(run.results()));
        assertEquals(run.results().keySet(), toSet(json.fieldNames()));
        JsonNode unit = json.get("mid_block.resnets.0");
        assertEquals("resnet", unit.get("kind").asText());
        assertEquals(30, unit.get("iterations").asInt());
        assertEquals(run.results().get("mid_block.resnets.0").learnedLoss(), unit.get("loss_learned").asDouble(), 1e-5 * unit.get("loss_learned").asDouble());
        assertEquals(11, unit.get("trace").size());
        assertEquals(30, unit.get("trace").get(10).get(0).asInt());
    }

    @Test
    void theBlocksPhaseCountsEveryUnitInOneTask() {
        Run run = reconstructed();
        int blockUnits = run.results().size() - 1; // all but the TIB
        List<String> blocks = run.work().stream().filter(w -> w.startsWith("blocks|")).toList();
        assertFalse(blocks.isEmpty());
        String item = blockUnits + " units";
        long total = 30L * blockUnits;
        long last = -1;
        for (String w : blocks) {
            String[] f = w.split("\\|");
            assertEquals(item, f[1], w);
            assertEquals(total, Long.parseLong(f[3]), w);
            long done = Long.parseLong(f[2]);
            assertTrue(done >= last, "counts go forward: " + w);
            last = done;
        }
        assertEquals(total, last, "the phase ends at its total");
        assertTrue(run.work().stream().anyMatch(w -> w.startsWith("tiar|TIB|30|30|")));
    }

    @Test
    void theSpillCounterSeesAllocationsOutsideTheWorkspace() {
        // the check above reads the workspace's spill counter; this shows that counter moves when memory is spilled
        var conf = org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration.builder().initialSize(0)
                .policyLearning(org.nd4j.linalg.api.memory.enums.LearningPolicy.NONE)
                .policySpill(org.nd4j.linalg.api.memory.enums.SpillPolicy.EXTERNAL).build();
        try (var ws = org.nd4j.linalg.factory.Nd4j.getWorkspaceManager().getAndActivateWorkspace(conf, "spill-check")) {
            org.nd4j.linalg.factory.Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1000);
            assertTrue(((org.nd4j.linalg.api.memory.abstracts.Nd4jWorkspace) ws).getSpilledSize() >= 4000);
        } finally {
            org.nd4j.linalg.factory.Nd4j.getWorkspaceManager().destroyWorkspace(
                    org.nd4j.linalg.factory.Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(conf, "spill-check"));
        }
    }

    private static java.util.Set<String> toSet(java.util.Iterator<String> it) {
        java.util.Set<String> s = new java.util.LinkedHashSet<>();
        it.forEachRemaining(s::add);
        return s;
    }
}
