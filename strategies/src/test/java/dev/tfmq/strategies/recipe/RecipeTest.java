package dev.tfmq.strategies.recipe;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.strategies.quant.BitWidths;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class RecipeTest {
    static Path recipes() {
        return Path.of(System.getProperty("tfmq.root", "..")).resolve("configs/recipes");
    }

    @Test
    void everyBundledRecipeParsesAndMeansWhatItsNameSays() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(recipes())) {
            files = s.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
        }
        assertEquals(21, files.size(), "7 recipes x {default, w8a8, w4a8}");
        for (Path f : files) {
            QuantizationRecipe r = QuantizationRecipe.fromConfig(QuantizationRecipe.loadConfig(f));
            String stem = f.getFileName().toString().replace(".conf", "");
            assertTrue(stem.startsWith(r.name()), stem + " vs " + r.name());
            if (stem.endsWith("-w8a8")) assertEquals(BitWidths.W8A8, r.bits(), stem);
            else if (System.getenv("TFMQ_BITS") == null) assertEquals(BitWidths.W4A8, r.bits(), stem);
            assertEquals(20_000, r.reconstruction().iterations(), "spec default iterations in " + stem);
            assertEquals(32, r.reconstruction().batchSize());
            assertEquals(0.01, r.reconstruction().lambda());
            assertEquals(new QuantizationRecipe.BiasCorrectionSettings(true, 256), r.biasCorrection(),
                    "bias correction on in every recipe alike: " + stem);
        }
        QuantizationRecipe t = QuantizationRecipe.fromConfig(QuantizationRecipe.loadConfig(recipes().resolve("tfmq.conf")));
        QuantizationRecipe q = QuantizationRecipe.fromConfig(QuantizationRecipe.loadConfig(recipes().resolve("q-diffusion.conf")));
        assertEquals(QuantizationRecipe.TibReconstruction.BLOCK, q.reconstruction().tib());
        assertEquals(QuantizationRecipe.ActivationCalibrationMode.SINGLE, q.activation().calibration());
        assertEquals(5000, q.activation().stepSizeIterations());
        assertEquals(4e-4, q.activation().stepSizeLr());
        assertEquals(0, t.activation().stepSizeIterations());
        assertEquals(QuantizationRecipe.TibReconstruction.TIAR, t.reconstruction().tib());
        assertEquals(QuantizationRecipe.TemporalStrategy.SELECTION, t.temporal().strategy());
        assertEquals(QuantizationRecipe.FscScope.ALL, t.activation().scope());
        QuantizationRecipe fsc = QuantizationRecipe.fromConfig(QuantizationRecipe.loadConfig(recipes().resolve("tfmq-fsc-only.conf")));
        assertEquals(QuantizationRecipe.TibReconstruction.BLOCK, fsc.reconstruction().tib());
        assertEquals(QuantizationRecipe.ActivationCalibrationMode.FSC, fsc.activation().calibration());
        QuantizationRecipe tiar = QuantizationRecipe.fromConfig(QuantizationRecipe.loadConfig(recipes().resolve("tfmq-tiar-only.conf")));
        assertEquals(QuantizationRecipe.ActivationCalibrationMode.SINGLE, tiar.activation().calibration());
    }

    @Test
    void badKeysAndValuesNameTheKeyAndValue() {
        Config typo = ConfigFactory.parseString("recipe { name = x, reconstruction { iteratons = 5 } }");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantizationRecipe.fromConfig(typo));
        assertTrue(e.getMessage().contains("unknown key 'iteratons'") && e.getMessage().contains("recipe.reconstruction"), e.getMessage());
        Config bits = ConfigFactory.parseString("recipe { bits = W9A8 }");
        e = assertThrows(IllegalArgumentException.class, () -> QuantizationRecipe.fromConfig(bits));
        assertTrue(e.getMessage().contains("recipe.bits") && e.getMessage().contains("weight bits must be in [2, 8], got 9"), e.getMessage());
        Config strat = ConfigFactory.parseString("recipe { temporal { strategy = magic } }");
        e = assertThrows(IllegalArgumentException.class, () -> QuantizationRecipe.fromConfig(strat));
        assertTrue(e.getMessage().contains("'magic' is not one of"), e.getMessage());
        Config obj = ConfigFactory.parseString("recipe { bits { weight = 3, activation = 6, softmax = 16 } }");
        assertEquals(new BitWidths(3, 6, 16), QuantizationRecipe.fromConfig(obj).bits());
        Config lsqFsc = ConfigFactory.parseString("recipe.activation { calibration = fsc, step-size-reconstruction.enabled = true }");
        e = assertThrows(IllegalArgumentException.class, () -> QuantizationRecipe.fromConfig(lsqFsc));
        assertTrue(e.getMessage().contains("needs activation.calibration = single"), e.getMessage());
        Config noSched = ConfigFactory.parseString("calibration { steps = 10 }");
        e = assertThrows(IllegalArgumentException.class, () -> CalibrationSettings.fromConfig(noSched, Path.of(".")));
        assertTrue(e.getMessage().contains("calibration.scheduler") && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void calibrationSettingsReadTheSchedulerFolder(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("scheduler_config.json"), "{\"_class_name\": \"DDPMScheduler\", \"num_train_timesteps\": 1000,"
                + " \"beta_schedule\": \"linear\", \"beta_start\": 0.0001, \"beta_end\": 0.02}");
        Config c = ConfigFactory.parseString("calibration { scheduler = \".\", steps = 20, eta = 0.0, memory-budget = 64m, spill-dir = spill }");
        CalibrationSettings s = CalibrationSettings.fromConfig(c, dir);
        assertEquals(20, s.schedule().size());
        assertEquals(64L << 20, s.memoryBudget());
        assertEquals(dir.resolve("spill"), s.spillDir());
        assertEquals(SchedulerConfig.Kind.DDIM, s.samplerKind());
        assertEquals(950, s.schedule().timestep(0));
    }

    @Test
    void biasCorrectionIsABooleanOrAnObjectAndEveryBadValueNamesTheKey() {
        assertEquals(new QuantizationRecipe.BiasCorrectionSettings(true, 256),
                QuantizationRecipe.fromConfig(ConfigFactory.parseString("recipe { name = x }")).biasCorrection());
        assertFalse(QuantizationRecipe.fromConfig(ConfigFactory.parseString("recipe.bias-correction = false")).biasCorrection().enabled());
        assertEquals(new QuantizationRecipe.BiasCorrectionSettings(true, 64), QuantizationRecipe.fromConfig(
                ConfigFactory.parseString("recipe.bias-correction { enabled = true, samples = 64 }")).biasCorrection());
        for (String[] bad : new String[][] {
                {"recipe.bias-correction = maybe", "recipe.bias-correction", "must be true or false"},
                {"recipe.bias-correction { samples = 0 }", "recipe.bias-correction.samples", "outside [1,"},
                {"recipe.bias-correction { sample = 64 }", "recipe.bias-correction", "unknown key 'sample'"},
                {"recipe.bias-corection = true", "recipe", "unknown key 'bias-corection'"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> QuantizationRecipe.fromConfig(ConfigFactory.parseString(bad[0])), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]) && e.getMessage().contains(bad[2]), bad[0] + ": " + e.getMessage());
        }
    }
}
