package dev.tfmq.strategies.recipe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import dev.tfmq.strategies.temporal.MaintenanceStrategy;
import dev.tfmq.strategies.temporal.SelectionMeasure;
import dev.tfmq.strategies.temporal.SelectionTable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Selection by the output error on the tiny UNet: the table's numbers are the ε̂ errors a direct computation gives
 * (FP model run separately, quantized model served each way), and the table survives the artifact.
 */
class OutputMeasureRecipeTest {
    static final int PROBES = 3;
    static QuantizedModel qm;

    static QuantizationRecipe recipe(String selection) {
        Config cfg = ConfigFactory.parseString("recipe.reconstruction { iterations = 5, batch-size = 4 }\n"
                        + "recipe.temporal.selection { " + selection + " }")
                .withFallback(QuantizationRecipe.loadConfig(RecipeTest.recipes().resolve("tfmq-w4a8.conf")));
        return QuantizationRecipe.fromConfig(cfg);
    }

    @BeforeAll
    static void quantize() {
        qm = RecipeRunner.quantize(TinyModels.random(9), recipe("measure = output, samples = " + PROBES),
                QuantizeEndToEndTest.calibration(), ProgressListener.NONE);
    }

    /** ‖a_i − b_i‖ / ‖b_i‖ per row i, in double precision with ND4J's own norms. */
    static double[] rowErrors(INDArray a, INDArray b) {
        double[] out = new double[(int) a.size(0)];
        for (int i = 0; i < out.length; i++) {
            INDArray ai = a.slice(i).castTo(DataType.DOUBLE), bi = b.slice(i).castTo(DataType.DOUBLE);
            out[i] = ai.sub(bi).norm2Number().doubleValue() / bi.norm2Number().doubleValue();
        }
        return out;
    }

    @Test
    void theTablesErrorsAreTheDenoisersOutputErrorsOnTheFpTrajectory() {
        SelectionTable table = qm.selection();
        assertEquals(SelectionMeasure.OUTPUT, table.measure());
        CalibrationSettings cal = QuantizeEndToEndTest.calibration();
        long[] ts = new long[cal.schedule().size()];
        for (int k = 0; k < ts.length; k++) ts[k] = cal.schedule().timestep(k);
        assertEquals(ts.length, table.perTimestep().size(), "one decision per sampling step");
        assertEquals("output", qm.provenance().get("selection_measure"));

        // the FP trajectory of the calibration seed, run here on a separate FP copy of the model
        UNet2DModel fp = TinyModels.random(9);
        List<INDArray> xs = new ArrayList<>(), eps = new ArrayList<>();
        long[] ids = new long[PROBES];
        for (int i = 0; i < PROBES; i++) ids[i] = i;
        new Sampler(fp, cal.createScheduler(), cal.schedule()).sample(ids, new long[] {1, 16, 16}, new NoiseSource(cal.seed()),
                (k, t, xt, out, x0, xp) -> {
                    xs.add(xt.dup());
                    eps.add(out.dup());
                });
        var served = qm.model().temporalFeatureSource();
        try {
            for (int k = 0; k < ts.length; k++) {
                long[] tb = new long[PROBES];
                Arrays.fill(tb, ts[k]);
                INDArray outTib = Nd4j.create(DataType.FLOAT, xs.get(k).shape()), outCache = outTib.dup();
                qm.model().setTemporalFeatureSource(null);
                qm.predict(xs.get(k), tb, outTib);
                qm.model().setTemporalFeatureSource(qm.cache());
                qm.predict(xs.get(k), tb, outCache);
                double tib = Arrays.stream(rowErrors(outTib, eps.get(k))).average().orElseThrow();
                double cache = Arrays.stream(rowErrors(outCache, eps.get(k))).average().orElseThrow();
                SelectionTable.Choice c = table.perTimestep().get(ts[k]);
                assertEquals(tib, c.tib(), 1e-9 + 1e-6 * tib, "TIB serving's error at t = " + ts[k]);
                assertEquals(cache, c.cache(), 1e-9 + 1e-6 * cache, "cache serving's error at t = " + ts[k]);
                assertTrue(tib > 1e-4 && cache > 1e-4, "W4A8 really quantizes: " + tib + ", " + cache);
                assertEquals(cache < tib ? MaintenanceStrategy.CACHE : MaintenanceStrategy.TIB, c.strategy(), "t = " + ts[k]);
            }
        } finally {
            qm.model().setTemporalFeatureSource(served);
        }
    }

    @Test
    void theOutputTableRoundTripsThroughTheArtifact(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("out.safetensors");
        QuantizationArtifact.write(file, qm);
        QuantizedModel back = QuantizationArtifact.read(file, TinyModels.random(9));
        SelectionTable a = qm.selection(), b = back.selection();
        assertEquals(SelectionMeasure.OUTPUT, b.measure());
        assertEquals(SelectionTable.Granularity.STEP, b.granularity());
        assertEquals(a.perTimestep(), b.perTimestep(), "every step's decision and both errors, exactly");
        long t = a.perTimestep().keySet().iterator().next();
        Nd4j.getRandom().setSeed(4);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 1, 16, 16);
        INDArray o1 = Nd4j.create(DataType.FLOAT, x.shape()), o2 = o1.dup();
        qm.predict(x, new long[] {t, t}, o1);
        back.predict(x, new long[] {t, t}, o2);
        assertArrayEquals(o1.data().asFloat(), o2.data().asFloat(), 0f, "served as selected, bit-identically");
    }

    @Test
    void anArtifactWithoutAMeasureWasSelectedByFeatureDistance() throws Exception {
        // the selection metadata of artifacts written before the output measure existed
        var old = new ObjectMapper().readTree("{\"granularity\":\"MEMBER\",\"metric\":\"REL_L2\",\"member\":"
                + "{\"m\":{\"strategy\":\"CACHE\",\"tib\":0.02,\"cache\":0.01}},\"member_step\":{}}");
        SelectionTable t = QuantizationArtifact.parseSelection(Path.of("old.safetensors"), old);
        assertEquals(SelectionMeasure.FEATURE, t.measure());
        assertEquals(MaintenanceStrategy.CACHE, t.strategy("m", 0));
        var broken = new ObjectMapper().readTree("{\"granularity\":\"STEP\",\"metric\":\"REL_L2\",\"measure\":\"OUTPUT\",\"step\":{}}");
        var e = assertThrows(dev.tfmq.model.io.FormatException.class, () -> QuantizationArtifact.parseSelection(Path.of("b"), broken));
        assertTrue(e.getMessage().contains("selection table is malformed"), e.getMessage());
    }

    @Test
    void badMeasureSettingsNameTheKeyAndValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> recipe("measure = bogus"));
        assertTrue(e.getMessage().contains("recipe.temporal.selection.measure") && e.getMessage().contains("'bogus'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> recipe("measure = output, granularity = member"));
        assertTrue(e.getMessage().contains("recipe.temporal.selection.granularity") && e.getMessage().contains("granularity = step"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> recipe("granularity = step"));
        assertTrue(e.getMessage().contains("set measure = output"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> recipe("measure = output, samples = 0"));
        assertTrue(e.getMessage().contains("recipe.temporal.selection.samples"), e.getMessage());
        QuantizationRecipe feature = recipe("metric = cosine");
        assertEquals(SelectionMeasure.FEATURE, feature.temporal().measure(), "feature distance stays the default");
        assertEquals(SelectionTable.Granularity.MEMBER, feature.temporal().granularity());
    }
}
