package dev.tfmq.strategies.recipe;

import com.typesafe.config.ConfigFactory;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import dev.tfmq.strategies.quant.ActivationQuantization;
import dev.tfmq.strategies.quant.ActivationSite;
import dev.tfmq.strategies.temporal.MaintenanceStrategy;
import dev.tfmq.strategies.temporal.UncachedTimestepException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Recipe → quantized model → artifact → reloaded model on the tiny UNet, with tiny calibration sizes. */
class QuantizeEndToEndTest {
    static CalibrationSettings calibration() {
        SchedulerConfig s = TinyModels.scheduler();
        return new CalibrationSettings(s, SchedulerConfig.Kind.DDIM, 0.0, 5, CalibrationSettings.Spacing.CONFIG,
                CalibrationSettings.DataMode.QDIFFUSION, 4, 2, 0, true, 16, 0.4, 0.4, 4, 1L << 24, null, 7);
    }

    static QuantizationRecipe recipe(String file, int iterations) {
        return QuantizationRecipe.fromConfig(ConfigFactory.parseString(recipeText(file, iterations)));
    }

    /** The recipe file with tiny iteration counts, as HOCON text. */
    static String recipeText(String file, int iterations) {
        var cfg = ConfigFactory.parseString("recipe.reconstruction { iterations = " + iterations + ", batch-size = 4 }\n"
                        + "recipe.activation.step-size-reconstruction.iterations = " + iterations)
                .withFallback(QuantizationRecipe.loadConfig(RecipeTest.recipes().resolve(file)));
        return cfg.root().render(com.typesafe.config.ConfigRenderOptions.concise());
    }

    /** Exact equality of every float (INDArray.equals allows 1e-5). */
    static void assertBits(INDArray want, INDArray got) {
        assertArrayEquals(want.data().asFloat(), got.data().asFloat(), 0.0f, "bit-identical outputs");
    }

    static INDArray run(QuantizedModel qm, INDArray x, long t) {
        INDArray out = Nd4j.create(DataType.FLOAT, x.shape());
        qm.predict(x, new long[] {t, t}, out);
        return out;
    }

    @Test
    void tfmqSelectionRecipeRoundTripsBitIdentically(@TempDir Path dir) throws Exception {
        List<String> phases = new ArrayList<>();
        QuantizedModel qm = RecipeRunner.quantize(TinyModels.random(9), recipe("tfmq-w4a8.conf", 10), calibration(),
                (p, d) -> phases.add(p));
        assertEquals(List.of("calibration-data", "weights", "tiar", "blocks", "activations", "temporal", "bias-correction"),
                phases.stream().distinct().toList());
        ActivationQuantization aq = qm.activations();
        long[] steps = calibration().schedule().distinctTimesteps();
        for (ActivationSite s : aq.sites().values()) {
            assertEquals(steps.length, s.table().perStep().size(), "FSC scope 'all': per-step table at " + s.key());
        }
        assertNotNull(qm.selection());
        int decided = qm.selection().counts().values().stream().mapToInt(Integer::intValue).sum();
        assertEquals(8, decided, "one decision per TIB member");
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 1, 16, 16);
        INDArray a = run(qm, x, steps[1]);
        INDArray b = run(qm, x, steps[3]);
        Path file = dir.resolve("tiny.tfmq.safetensors");
        long size = QuantizationArtifact.write(file, qm);
        long fp32 = QuantizationArtifact.fp32Bytes(qm.model());
        assertTrue(size < fp32 / 3, "artifact " + size + " B vs FP32 " + fp32 + " B");
        UNet2DModel fresh = TinyModels.random(9);
        QuantizedModel back = QuantizationArtifact.read(file, fresh);
        assertBits(a, run(back, x, steps[1]));
        assertBits(b, run(back, x, steps[3]));
        assertEquals(qm.provenance().get("model_sha256"), back.provenance().get("model_sha256"));
        // the bias correction travels with the artifact: same layers, same offsets, the TIB left alone
        assertNotNull(qm.biasOffsets(), "tfmq-w4a8 corrects biases");
        assertEquals(qm.biasOffsets().offsets().keySet(), back.biasOffsets().offsets().keySet());
        qm.biasOffsets().offsets().forEach((layer, d) -> {
            assertArrayEquals(d, back.biasOffsets().offsets().get(layer), 0.0, layer);
            assertFalse(qm.model().isTemporal(layer), layer + " is in the TIB");
        });
        assertTrue(qm.provenance().get("bias_correction_rms_over_max_z").contains("up_blocks.1.resnets.0.conv2="),
                qm.provenance().get("bias_correction_rms_over_max_z"));
        assertTrue(Double.parseDouble(qm.provenance().get("time_bias_correction_s")) > 0);
        // quantization really runs in the forward pass: the released model is the FP one and differs
        back.release();
        assertEquals(ModelChecksum.sha256(TinyModels.random(9)), ModelChecksum.sha256(fresh), "release restores FP weights and biases");
        INDArray fpOut = Nd4j.create(DataType.FLOAT, x.shape());
        fresh.forward(x, new long[] {steps[1], steps[1]}, fpOut);
        double rel = fpOut.sub(a).norm2Number().doubleValue() / fpOut.norm2Number().doubleValue();
        assertTrue(rel > 1e-3 && rel < 1.0, "W4A8 output deviates from FP by " + rel);
        // a model other than the one quantized is refused
        var e = assertThrows(dev.tfmq.model.io.FormatException.class, () -> QuantizationArtifact.read(file, TinyModels.random(10)));
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
    }

    @Test
    void cacheRecipeFailsClearlyOnAnUncachedTimestepAndQDiffusionUsesSharedGrids(@TempDir Path dir) throws Exception {
        QuantizedModel qm = RecipeRunner.quantize(TinyModels.random(9), recipe("tfmq-cache-w8a8.conf", 5), calibration(),
                ProgressListener.NONE);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 1, 16, 16);
        assertThrows(UncachedTimestepException.class, () -> run(qm, x, 3));
        assertTrue(Long.parseLong(qm.provenance().get("cache_bytes")) > 0);

        QuantizedModel qd = RecipeRunner.quantize(TinyModels.random(9), recipe("q-diffusion-w4a8.conf", 5), calibration(),
                ProgressListener.NONE);
        for (ActivationSite s : qd.activations().sites().values()) {
            assertNotNull(s.table().shared(), "Q-Diffusion keeps one grid for all time-steps at " + s.key());
        }
        // a time-step outside the schedule still runs with shared grids
        run(qd, x, 3);
        Path file = dir.resolve("qd.safetensors");
        QuantizationArtifact.write(file, qd);
        INDArray a = run(qd, x, 400);
        assertBits(a, run(QuantizationArtifact.read(file, TinyModels.random(9)), x, 400));
        assertTrue(qd.provenance().get("reconstruction_loss_nearest_to_learned").contains("up_blocks.0.resnets.0="));
        assertNull(qd.selection());
        String steps = qd.provenance().get("step_size_loss_before_to_after");
        assertTrue(steps != null && steps.contains("mid_block.attentions.0="), "Q-Diffusion ran step-size reconstruction: " + steps);
        assertEquals(MaintenanceStrategy.values().length, 2);
    }

    @Test
    void scaleShiftModelsGoThroughBlockReconstructionInBothFamilies(@TempDir Path dir) throws Exception {
        // resnet_time_scale_shift: scale_shift (time_emb_proj gives scale and shift): BRECQ blocks, TIAR, FSC and
        // Q-Diffusion's step-size reconstruction all run, and the artifact round-trips bit-identically
        var config = TinyModels.config("scale_shift");
        for (String recipeFile : List.of("tfmq-w4a8.conf", "q-diffusion-w4a8.conf")) {
            QuantizedModel qm = RecipeRunner.quantize(UNet2DModel.random(config, 9, DataType.FLOAT),
                    recipe(recipeFile, 5), calibration(), ProgressListener.NONE);
            assertTrue(qm.provenance().get("reconstruction_loss_nearest_to_learned").contains("up_blocks.0.resnets.0="),
                    recipeFile + ": " + qm.provenance().get("reconstruction_loss_nearest_to_learned"));
            Nd4j.getRandom().setSeed(6);
            INDArray x = Nd4j.randn(DataType.FLOAT, 2, 1, 16, 16);
            long t = calibration().schedule().distinctTimesteps()[2];
            INDArray a = run(qm, x, t);
            Path file = dir.resolve(recipeFile + ".safetensors");
            QuantizationArtifact.write(file, qm);
            assertBits(a, run(QuantizationArtifact.read(file, UNet2DModel.random(config, 9, DataType.FLOAT)), x, t));
        }
    }

    @Test
    void anArtifactWhoseRecipeContradictsItsBiasOffsetsIsRefused(@TempDir Path dir) throws Exception {
        QuantizedModel qm = RecipeRunner.quantize(TinyModels.random(9), recipe("tfmq-tib-w4a8.conf", 3), calibration(),
                ProgressListener.NONE);
        Path file = dir.resolve("a.safetensors");
        QuantizationArtifact.write(file, qm);
        dev.tfmq.model.io.SafeTensors st = dev.tfmq.model.io.SafeTensors.read(file);
        var meta = new java.util.LinkedHashMap<>(st.metadata());
        meta.put("recipe", ConfigFactory.parseString("bias-correction = false").withFallback(ConfigFactory.parseString(meta.get("recipe")))
                .root().render(com.typesafe.config.ConfigRenderOptions.concise()));
        Path bad = dir.resolve("bad.safetensors");
        dev.tfmq.model.io.SafeTensors.write(bad, st.tensors(), meta);
        var e = assertThrows(dev.tfmq.model.io.FormatException.class, () -> QuantizationArtifact.read(bad, TinyModels.random(9)));
        assertTrue(e.getMessage().contains("bias correction off") && e.getMessage().contains("stores bias offsets"), e.getMessage());
        // without correction the artifact holds no offsets and the model keeps its FP biases
        QuantizedModel off = RecipeRunner.quantize(TinyModels.random(9), QuantizationRecipe.fromConfig(ConfigFactory.parseString(
                "recipe.bias-correction = false").withFallback(ConfigFactory.parseString(recipeText("tfmq-tib-w4a8.conf", 3)))),
                calibration(), ProgressListener.NONE);
        assertNull(off.biasOffsets());
        Path plain = dir.resolve("plain.safetensors");
        QuantizationArtifact.write(plain, off);
        assertNull(QuantizationArtifact.read(plain, TinyModels.random(9)).biasOffsets());
    }
}
