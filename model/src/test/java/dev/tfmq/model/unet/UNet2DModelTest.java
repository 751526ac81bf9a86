package dev.tfmq.model.unet;

import dev.tfmq.model.Fixtures;
import dev.tfmq.model.io.Npy;
import dev.tfmq.model.io.Npz;
import dev.tfmq.model.io.SafeTensors;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.nn.ModuleKind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Exactness of the UNet against the fixtures made by diffusers 0.25.1. */
class UNet2DModelTest {
    static Path dir;
    static UNet2DModel model;
    static INDArray x;
    static long[] t;

    @BeforeAll
    static void load() throws IOException {
        dir = Fixtures.tinyGray28();
        model = UNet2DModel.load(dir.resolve("unet"));
        x = Npy.read(dir.resolve("x.npy"));
        t = Npy.read(dir.resolve("t.npy")).toLongVector();
    }

    static double maxAbs(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    static INDArray run(UNet2DModel m, INDArray in) {
        INDArray out = Nd4j.create(m.dtype(), in.size(0), m.config().outChannels(), in.size(2), in.size(3));
        m.forward(in.castTo(m.dtype()), t, out);
        return out;
    }

    @Test
    void outputMatchesDiffusersFloat32() throws IOException {
        INDArray expected = Npy.read(dir.resolve("out.npy"));
        double err = maxAbs(run(model, x), expected);
        assertTrue(err < 1e-4, "max abs error vs diffusers out.npy: " + err);
    }

    @Test
    void everyModuleOutputMatches() throws IOException {
        // the default float32 pass runs channels-last inside; the channel-first pass is what float64 and
        // reconstruction's capture use: both must match diffusers module by module
        assertTrue(model.channelsLast(), "float32 with the fused kernels runs channels-last by default");
        everyModuleOutputMatches(true);
        boolean was = model.setChannelsLast(false);
        try {
            assertFalse(model.channelsLast());
            everyModuleOutputMatches(false);
        } finally {
            model.setChannelsLast(was);
        }
    }

    private void everyModuleOutputMatches(boolean channelsLast) throws IOException {
        SafeTensors ref = SafeTensors.read(dir.resolve("modules.safetensors"));
        Map<String, Double> errors = new HashMap<>();
        ModuleHook capture = new ModuleHook() {
            @Override
            public void afterForward(String path, INDArray output) {
                if (ref.tensors().containsKey(path)) {
                    // hooks see [B, H, W, C] in the channels-last layout
                    INDArray o = channelsLast && output.rank() == 4 ? output.permute(0, 3, 1, 2) : output;
                    errors.put(path, maxAbs(o.reshape(ref.tensors().get(path).shape()), ref.tensors().get(path)));
                }
            }
        };
        for (Module m : model.modules().values()) m.setHook(capture);
        try {
            run(model, x);
        } finally {
            for (Module m : model.modules().values()) m.setHook(null);
        }
        // every resnet, attention, resampler, conv_in and conv_norm_out output is checked
        assertTrue(errors.size() >= 20, "compared modules: " + errors.keySet());
        errors.forEach((path, err) -> assertTrue(err < 1e-4,
                (channelsLast ? "channels-last " : "channel-first ") + path + " max abs error " + err));
    }

    @Test
    void temporalFeaturesMatchDiffusers() throws IOException {
        TemporalFeatures tf = model.computeTemporalFeatures(t);
        assertTrue(maxAbs(tf.embedding(), Npy.read(dir.resolve("temb64.npy"))) < 1e-5);
        Map<String, INDArray> proj = Npz.read(dir.resolve("temb_proj64.npz"));
        assertEquals(proj.keySet(), tf.projections().keySet());
        for (Map.Entry<String, INDArray> e : proj.entrySet()) {
            double err = maxAbs(tf.projection(e.getKey()), e.getValue());
            assertTrue(err < 1e-5, e.getKey() + ": " + err);
        }
        double[][] p = model.timeEmbedding().projection(t);
        INDArray tproj64 = Npy.read(dir.resolve("tproj64.npy"));
        for (int b = 0; b < t.length; b++) {
            for (int i = 0; i < p[b].length; i++) assertEquals(tproj64.getDouble(b, i), p[b][i], 1e-12);
        }
    }

    @Test
    void float64PathMatchesExactReference() throws IOException {
        UNet2DModel m64 = UNet2DModel.load(dir.resolve("unet"), DataType.DOUBLE);
        INDArray out = run(m64, x);
        INDArray ref = Npy.read(dir.resolve("out64_exact.npy"));
        double rel = out.sub(ref).norm2Number().doubleValue() / ref.norm2Number().doubleValue();
        assertTrue(rel < 1e-9, "relative L2 error vs out64_exact.npy: " + rel);
    }

    @Test
    void legacyAttentionNamesLoadToTheSameModel() throws IOException {
        UNet2DModel legacy = UNet2DModel.load(dir.resolve("unet_legacy_attn_names"));
        assertEquals(0.0, maxAbs(run(legacy, x), run(model, x)));
    }

    @Test
    void chunkedAttentionEqualsUnchunked() {
        // chunking belongs to the ND4J attention core (the path without the fused kernels, and the one a
        // probabilities hook takes)
        boolean was = dev.tfmq.model.nn.FusedKernels.setEnabled(false);
        long saved = AttentionBlock.scoreBudgetBytes;
        try {
            INDArray full = run(model, x);
            AttentionBlock.scoreBudgetBytes = 1; // one image per chunk
            assertEquals(0.0, maxAbs(run(model, x), full), 1e-6);
        } finally {
            AttentionBlock.scoreBudgetBytes = saved;
            dev.tfmq.model.nn.FusedKernels.setEnabled(was);
        }
    }

    @Test
    void channelsLastAttentionGivesTheSameResultOnItsHookedPaths() {
        // unhooked: packed q|k|v product; hooks on the projections: three products; a probabilities hook: the
        // channel-first ND4J core on transposed q, k, v
        assertTrue(model.channelsLast());
        INDArray plain = run(model, x);
        List<AttentionBlock> attns = new java.util.ArrayList<>();
        for (Module m : model.modules().values()) if (m instanceof AttentionBlock a) attns.add(a);
        int[] projections = {0};
        ModuleHook count = new ModuleHook() {
            @Override
            public void afterForward(String path, INDArray output) {
                assertEquals(2, output.rank(), "token-major [B*T, C] projection outputs");
                projections[0]++;
            }
        };
        double[] rowSumError = {0};
        try {
            for (AttentionBlock a : attns) {
                a.toQ().setHook(count);
                a.toK().setHook(count);
                a.toV().setHook(count);
            }
            INDArray projHooked = run(model, x);
            assertEquals(3 * attns.size(), projections[0]);
            assertTrue(maxAbs(projHooked, plain) < 2e-5, "hooked projections: " + maxAbs(projHooked, plain));
            for (AttentionBlock a : attns) {
                a.setProbsHook(new ModuleHook() {
                    @Override
                    public void afterForward(String path, INDArray probs) {
                        INDArray sums = probs.sum(2);
                        rowSumError[0] = Math.max(rowSumError[0], Math.abs(sums.sub(1.0).amaxNumber().doubleValue()));
                    }
                });
            }
            INDArray probsHooked = run(model, x);
            assertTrue(maxAbs(probsHooked, plain) < 2e-5, "probabilities hook: " + maxAbs(probsHooked, plain));
            assertTrue(rowSumError[0] < 1e-5, "probability rows sum to 1: " + rowSumError[0]);
        } finally {
            for (AttentionBlock a : attns) {
                a.toQ().setHook(null);
                a.toK().setHook(null);
                a.toV().setHook(null);
                a.setProbsHook(null);
            }
        }
    }

    @Test
    void channelsLastAndChannelFirstPassesAgree() {
        assertTrue(model.channelsLast());
        INDArray last = run(model, x);
        boolean was = model.setChannelsLast(false);
        try {
            INDArray first = run(model, x);
            assertTrue(maxAbs(last, first) < 2e-5, "channels-last vs channel-first: " + maxAbs(last, first));
            assertTrue(maxAbs(last, first) > 0, "the two layouts really ran different kernels");
        } finally {
            model.setChannelsLast(was);
        }
    }

    @Test
    void fusedKernelsAreActiveAndAgreeWithTheNd4jOpChains() throws IOException {
        assertTrue(dev.tfmq.model.nn.FusedKernels.enabled(), "tests run with --add-modules jdk.incubator.vector");
        INDArray fused = run(model, x);
        boolean was = dev.tfmq.model.nn.FusedKernels.setEnabled(false);
        try {
            INDArray ops = run(model, x);
            assertTrue(maxAbs(fused, ops) < 2e-5, "fused vs ND4J op chain: " + maxAbs(fused, ops));
            assertTrue(maxAbs(ops, Npy.read(dir.resolve("out.npy"))) < 1e-4);
        } finally {
            dev.tfmq.model.nn.FusedKernels.setEnabled(was);
        }
    }

    @Test
    void repeatedPassesReuseBuffers() {
        run(model, x);
        int buffers = model.bufferCount();
        long bytes = model.bufferBytes();
        run(model, x);
        run(model, x);
        assertEquals(buffers, model.bufferCount());
        assertEquals(bytes, model.bufferBytes());
    }

    @Test
    void moduleRegistryExposesTheTemporalInformationBlock() {
        List<String> tib = model.temporalModules().stream().map(Module::path).toList();
        assertEquals("time_embedding.linear_1", tib.get(0));
        assertEquals("time_embedding.linear_2", tib.get(1));
        // 1 down resnet x 3 blocks + 2 mid + 2 up resnets x 3 blocks
        assertEquals(2 + 3 + 2 + 6, tib.size());
        assertTrue(tib.contains("down_blocks.1.resnets.0.time_emb_proj"));
        for (String p : tib) assertTrue(model.isTemporal(p), p);
        assertFalse(model.isTemporal("down_blocks.1.resnets.0.conv1"));
        assertEquals(ModuleKind.ATTENTION, model.module("mid_block.attentions.0").kind());
        assertEquals(ModuleKind.CONV, model.module("down_blocks.0.downsamplers.0.conv").kind());
        assertEquals(ModuleKind.LINEAR, model.module("up_blocks.1.attentions.1.to_out.0").kind());
        assertEquals(ModuleKind.NORM, model.module("conv_norm_out").kind());
        assertEquals(1_160_000, model.parameterCount(), 10_000);
        List<String> order = List.copyOf(model.modules().keySet());
        assertEquals("conv_in", order.get(0));
        assertTrue(order.indexOf("up_blocks.0.resnets.0") < order.indexOf("mid_block.resnets.0"),
                "diffusers registers mid_block after up_blocks");
        assertThrows(IllegalArgumentException.class, () -> model.module("nope"));
    }

    @Test
    void temporalFeatureSourceReplacesTheTib() {
        INDArray reference = run(model, x);
        TemporalFeatures cached = model.computeTemporalFeatures(t);
        Map<String, INDArray> copies = new HashMap<>();
        cached.projections().forEach((k, v) -> copies.put(k, v.dup()));
        int[] calls = {0};
        model.setTemporalFeatureSource((m, out) -> {
            calls[0]++;
            out.projections().forEach((k, v) -> v.assign(copies.get(k)));
        });
        try {
            assertEquals(0.0, maxAbs(run(model, x), reference), 0.0);
            assertEquals(1, calls[0]);
            // a source that perturbs the temporal features changes the output: the features are really used
            model.setTemporalFeatureSource((m, out) -> out.projections().forEach((k, v) -> v.assign(copies.get(k)).muli(1.1)));
            assertTrue(maxAbs(run(model, x), reference) > 1e-3);
        } finally {
            model.setTemporalFeatureSource(null);
        }
    }

    @Test
    void inputsTheNetworkCannotTakeAreRefusedBeforeAnyNativeCall() {
        // issue 14: 15x15 on a model with two downsamplings died with SIGSEGV inside libnd4jcpu
        String m = assertThrows(IllegalArgumentException.class, () -> model.forward(Nd4j.zeros(DataType.FLOAT, 1, 1, 15, 15),
                new long[]{1}, Nd4j.zeros(DataType.FLOAT, 1, 1, 15, 15))).getMessage();
        assertTrue(m.contains("height 15") && m.contains("multiple of 4"), m);
        m = assertThrows(IllegalArgumentException.class, () -> model.forward(Nd4j.zeros(DataType.FLOAT, 1, 1, 28, 30),
                new long[]{1}, Nd4j.zeros(DataType.FLOAT, 1, 1, 28, 30))).getMessage();
        assertTrue(m.contains("width 30"), m);
        m = assertThrows(IllegalArgumentException.class, () -> model.forward(Nd4j.zeros(DataType.FLOAT, 0, 1, 28, 28),
                new long[0], Nd4j.zeros(DataType.FLOAT, 0, 1, 28, 28))).getMessage();
        assertTrue(m.contains("batch is empty"), m);
        m = assertThrows(IllegalArgumentException.class, () -> model.forward(Nd4j.zeros(DataType.FLOAT, 1, 3, 28, 28),
                new long[]{1}, Nd4j.zeros(DataType.FLOAT, 1, 1, 28, 28))).getMessage();
        assertTrue(m.contains("3 channels, the model expects 1"), m);
        m = assertThrows(IllegalArgumentException.class, () -> model.forward(Nd4j.zeros(DataType.FLOAT, 1, 1, 28),
                new long[]{1}, Nd4j.zeros(DataType.FLOAT, 1, 1, 28, 28))).getMessage();
        assertTrue(m.contains("expected [B, C, H, W]"), m);
        // an output buffer smaller than the prediction (the other half of the crash)
        m = assertThrows(IllegalArgumentException.class, () -> model.forward(Nd4j.zeros(DataType.FLOAT, 2, 1, 28, 28),
                new long[]{1, 1}, Nd4j.zeros(DataType.FLOAT, 2, 1, 24, 24))).getMessage();
        assertTrue(m.contains("output buffer has shape [2, 1, 24, 24]"), m);
        // other sizes the model can take still run
        INDArray out = Nd4j.zeros(DataType.FLOAT, 1, 1, 16, 16);
        model.forward(Nd4j.rand(DataType.FLOAT, 1, 1, 16, 16), new long[]{5}, out);
        assertTrue(out.amaxNumber().doubleValue() > 0);
    }
}
