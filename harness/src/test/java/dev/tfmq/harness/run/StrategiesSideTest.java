package dev.tfmq.harness.run;

import com.typesafe.config.ConfigFactory;
import dev.tfmq.harness.TestModels;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.pipeline.UNetSide;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.strategies.recipe.CalibrationSettings;
import dev.tfmq.strategies.recipe.ProgressListener;
import dev.tfmq.strategies.recipe.QuantizationRecipe;
import dev.tfmq.strategies.recipe.QuantizedModel;
import dev.tfmq.strategies.recipe.RecipeRunner;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The strategies artifact as the harness's quantized side: the tfmq recipe offers its quantized TIB and its cache as
 * two candidates, each measured as it really is, and the table the harness's selector sends is what the forward
 * pass uses.
 */
class StrategiesSideTest {
    static QuantizedModel qm;
    static long[] steps;

    @BeforeAll
    static void quantize() {
        SchedulerConfig s = TestModels.scheduler();
        CalibrationSettings cal = new CalibrationSettings(s, SchedulerConfig.Kind.DDIM, 0.0, 5, CalibrationSettings.Spacing.CONFIG,
                CalibrationSettings.DataMode.QDIFFUSION, 4, 2, 0, true, 16, 0.4, 0.4, 4, 1L << 24, null, 7);
        Path recipes = Path.of(System.getProperty("tfmq.root", "..")).resolve("configs/recipes");
        var cfg = ConfigFactory.parseString("recipe.reconstruction { iterations = 10, batch-size = 4 }")
                .withFallback(QuantizationRecipe.loadConfig(recipes.resolve("tfmq-w4a8.conf")));
        qm = RecipeRunner.quantize(TestModels.unet(), QuantizationRecipe.fromConfig(cfg), cal, ProgressListener.NONE);
        steps = cal.schedule().distinctTimesteps();
    }

    static SelectionTable table(List<String> members, String cacheMember) {
        Map<String, String> choice = new LinkedHashMap<>();
        for (String m : members) choice.put(m, m.equals(cacheMember) ? StrategiesSide.CACHE : StrategiesSide.TIB);
        return new SelectionTable("per-member", "relative-l2", List.of(StrategiesSide.TIB, StrategiesSide.CACHE), choice, Map.of(), Map.of());
    }

    static INDArray predict(StrategiesSide side, INDArray x, long t) {
        INDArray out = Nd4j.create(DataType.FLOAT, x.shape());
        side.predict(x, new long[] {t, t}, out);
        return out;
    }

    @Test
    void offersTheQuantizedTibAndTheCacheAndAppliesTheHarnessChoice() {
        StrategiesSide side = new StrategiesSide(qm);
        assertEquals(List.of("tib", "cache"), side.strategies());
        long t = steps[2];
        List<String> members = side.members();
        String member = members.get(3);
        Map<String, float[]> tib = side.temporalFeatures(t, "tib"), cache = side.temporalFeatures(t, "cache");
        double[] cached = qm.cache().feature(t, member);
        float[] got = cache.get(member);
        for (int i = 0; i < cached.length; i++) assertEquals((float) cached[i], got[i], 0f, "cache candidate serves the cache");
        assertFalse(java.util.Arrays.equals(tib.get(member), got), "the quantized TIB and the cache differ at " + member);
        assertArrayEquals(tib.get(UNetSide.EMBEDDING), cache.get(UNetSide.EMBEDDING), 0f, "embedding: the TIB's under both");

        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 1, 16, 16);
        side.apply(table(members, null));
        INDArray allTib = predict(side, x, t);
        assertArrayEquals(tib.get(member), side.appliedTemporalFeatures(t).get(member), 0f);

        side.apply(table(members, member));
        Map<String, float[]> applied = side.appliedTemporalFeatures(t);
        assertArrayEquals(got, applied.get(member), 0f, "the chosen member now reads the cache");
        assertArrayEquals(tib.get(members.get(2)), applied.get(members.get(2)), 0f, "the others keep the TIB");
        INDArray oneCached = predict(side, x, t);
        assertTrue(oneCached.sub(allTib).norm2Number().doubleValue() > 0, "the forward pass uses the applied table");

        var e = assertThrows(IllegalArgumentException.class, () -> side.apply(table(members, UNetSide.EMBEDDING)));
        assertTrue(e.getMessage().contains("not cacheable"), e.getMessage());
        var bad = new SelectionTable("per-member", "relative-l2", List.of("fp"), Map.of(member, "fp"), Map.of(), Map.of());
        assertThrows(IllegalArgumentException.class, () -> side.apply(bad));
        assertThrows(IllegalArgumentException.class, () -> side.temporalFeatures(t, "fp"));
    }

    @Test
    void aCachedArtifactIsUsedOnlyWhenItsContentsVerify(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        // issue 14: flipped bytes of a packed weight tensor in .tfmq-cache/artifacts/ were loaded "from cache", exit 0
        Path model = tmp.resolve("model");
        TestModels.writeTinyModelFolder(model);
        Path a = tmp.resolve("artifact.safetensors");
        dev.tfmq.strategies.recipe.QuantizationArtifact.write(a, qm);
        Map<String, Object> prov = new LinkedHashMap<>();
        assertNull(StrategiesProvider.cachedProblem(a, model, prov));
        assertTrue(prov.containsKey("model_sha256"), prov.toString());
        byte[] bytes = java.nio.file.Files.readAllBytes(a);
        bytes[bytes.length - 2] ^= 0x10;
        java.nio.file.Files.write(a, bytes);
        String m = StrategiesProvider.cachedProblem(a, model, new LinkedHashMap<>());
        assertTrue(m != null && m.contains("data section SHA-256") && m.contains("corrupt"), m);
        // an entry written before checksums cannot be verified, so it is not used either
        bytes[bytes.length - 2] ^= 0x10;
        java.nio.file.Files.write(a, bytes);
        var st = dev.tfmq.model.io.SafeTensors.read(a);
        Map<String, String> meta = new LinkedHashMap<>(st.metadata());
        meta.remove(dev.tfmq.model.io.SafeTensors.DATA_SHA256);
        dev.tfmq.model.io.SafeTensors.write(a, st.tensors(), meta);
        m = StrategiesProvider.cachedProblem(a, model, new LinkedHashMap<>());
        assertTrue(m != null && m.contains("no checksum"), m);
    }
}
