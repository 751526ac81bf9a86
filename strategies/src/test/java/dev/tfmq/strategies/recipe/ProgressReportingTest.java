package dev.tfmq.strategies.recipe;

import dev.tfmq.strategies.TinyModels;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The counted work a quantization run reports, and that reporting it changes nothing. */
class ProgressReportingTest {
    record Work(String phase, String item, long done, long total, String unit) {}

    static final class Recorder implements ProgressListener {
        final List<String> phases = new ArrayList<>();
        final List<Work> work = new ArrayList<>();

        @Override
        public void onProgress(String phase, String detail) { phases.add(phase); }

        @Override
        public void onWork(String phase, String item, long done, long total, String unit) {
            work.add(new Work(phase, item, done, total, unit));
        }
    }

    @Test
    void loopsReportTheirCountsFromZeroToTotalAndTheResultIsUnchanged() {
        for (String file : List.of("tfmq-w4a8.conf", "q-diffusion-w4a8.conf")) {
            Recorder rec = new Recorder();
            QuantizedModel reported = RecipeRunner.quantize(TinyModels.random(9), QuantizeEndToEndTest.recipe(file, 6),
                    QuantizeEndToEndTest.calibration(), rec);
            QuantizedModel silent = RecipeRunner.quantize(TinyModels.random(9), QuantizeEndToEndTest.recipe(file, 6),
                    QuantizeEndToEndTest.calibration(), ProgressListener.NONE);

            Map<String, List<Work>> byItem = new LinkedHashMap<>();
            for (Work w : rec.work) byItem.computeIfAbsent(w.phase() + " " + w.item(), k -> new ArrayList<>()).add(w);
            for (var e : byItem.entrySet()) {
                List<Work> ws = e.getValue();
                assertEquals(0, ws.get(0).done(), file + " " + e.getKey() + " starts at 0");
                Work last = ws.get(ws.size() - 1);
                assertEquals(last.total(), last.done(), file + " " + e.getKey() + " ends at its total");
                for (int i = 1; i < ws.size(); i++) {
                    assertTrue(ws.get(i).done() >= ws.get(i - 1).done(), file + " " + e.getKey() + " never goes back");
                    assertEquals(last.total(), ws.get(i).total());
                    assertEquals(last.unit(), ws.get(i).unit());
                }
                assertTrue(rec.phases.contains(ws.get(0).phase()), file + ": work of phase " + ws.get(0).phase() + " announced");
            }
            assertTrue(byItem.containsKey("calibration-data trajectories"), file + ": " + byItem.keySet());
            assertEquals(6, byItem.values().stream().filter(ws -> ws.get(0).unit().equals("iterations"))
                    .findFirst().orElseThrow().get(0).total());
            if (file.startsWith("tfmq")) {
                assertTrue(byItem.containsKey("tiar TIB"), byItem.keySet().toString());
                assertTrue(byItem.containsKey("activations running min-max"), byItem.keySet().toString());
                assertTrue(byItem.keySet().stream().anyMatch(k -> k.startsWith("blocks ")), byItem.keySet().toString());
            } else {
                assertTrue(byItem.keySet().stream().anyMatch(k -> k.startsWith("activation-steps ")), byItem.keySet().toString());
            }

            assertEquals(silent.provenance().get("reconstruction_loss_nearest_to_learned"),
                    reported.provenance().get("reconstruction_loss_nearest_to_learned"));
            assertEquals(silent.provenance().get("step_size_loss_before_to_after"),
                    reported.provenance().get("step_size_loss_before_to_after"));
            INDArray x = Nd4j.randn(3L, new long[] {2, 1, 16, 16}).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
            long t = QuantizeEndToEndTest.calibration().schedule().timestep(2);
            QuantizeEndToEndTest.assertBits(QuantizeEndToEndTest.run(silent, x, t), QuantizeEndToEndTest.run(reported, x, t));
        }
    }
}
