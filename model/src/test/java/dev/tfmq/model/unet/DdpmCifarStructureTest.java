package dev.tfmq.model.unet;

import dev.tfmq.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The original DDPM CIFAR-10 architecture (google/ddpm-cifar10-32): its exact config at full size (parameter
 * count), and the same structure at reduced width against a PyTorch forward (tools/make_unet_fixtures.py):
 * 4 levels, downsample_padding 0, freq_shift 1, no sin/cos flip, single-head attention, legacy attention keys.
 */
class DdpmCifarStructureTest {
    static final String DDPM_CIFAR10_CONFIG = """
            {"_class_name": "UNet2DModel", "act_fn": "silu", "attention_head_dim": null,
             "block_out_channels": [128, 256, 256, 256], "center_input_sample": false,
             "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
             "downsample_padding": 0, "flip_sin_to_cos": false, "freq_shift": 1, "in_channels": 3,
             "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-06, "norm_num_groups": 32,
             "out_channels": 3, "sample_size": 32, "time_embedding_type": "positional",
             "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"]}
            """;

    static Path dir(String name) throws URISyntaxException {
        return Path.of(DdpmCifarStructureTest.class.getResource("/fixtures/" + name + "/config.json").toURI()).getParent();
    }

    @Test
    void fullSizeConfigHasTheCheckpointsParameterCount() throws IOException {
        Path cfg = Files.createTempFile("ddpm-cifar10", ".json");
        Files.writeString(cfg, DDPM_CIFAR10_CONFIG);
        UNet2DModel m = UNet2DModel.random(UNet2DConfig.read(cfg), 1, DataType.FLOAT);
        assertEquals(35.7e6, m.parameterCount(), 0.05e6, "google/ddpm-cifar10-32 has 35.7 M parameters");
        assertEquals(1, ((AttentionBlock) m.module("mid_block.attentions.0")).heads());
        INDArray x = Nd4j.randn(3L, new long[]{1, 3, 32, 32}).castTo(DataType.FLOAT);
        INDArray out = Nd4j.create(DataType.FLOAT, 1, 3, 32, 32);
        m.forward(x, new long[]{10}, out);
        assertFalse(out.isInfinite().any() || out.isNaN().any());
    }

    @Test
    void reducedWidthMatchesPyTorch() throws Exception {
        matchesPyTorch(dir("ddpm-cifar-structure"));
    }

    /** scale_shift resnets, mid attention without group norm, center_input_sample, mid_block_scale_factor √2. */
    @Test
    void scaleShiftVariantMatchesPyTorch() throws Exception {
        Path d = dir("scale-shift");
        UNet2DModel m = UNet2DModel.load(d);
        assertFalse(((AttentionBlock) m.module("mid_block.attentions.0")).hasGroupNorm());
        assertTrue(((AttentionBlock) m.module("down_blocks.1.attentions.0")).hasGroupNorm());
        assertEquals(64, ((dev.tfmq.model.nn.Linear) m.module("mid_block.resnets.0.time_emb_proj")).outFeatures());
        matchesPyTorch(d);
    }

    private static void matchesPyTorch(Path d) throws Exception {
        INDArray x = Npy.read(d.resolve("x.npy"));
        long[] t = Npy.read(d.resolve("t.npy")).toLongVector();
        UNet2DModel m = UNet2DModel.load(d);
        INDArray out = Nd4j.create(DataType.FLOAT, x.shape());
        m.forward(x, t, out);
        assertTrue(out.amaxNumber().doubleValue() > 0.1);
        double err = out.sub(Npy.read(d.resolve("out.npy"))).amaxNumber().doubleValue();
        assertTrue(err < 1e-4, "float32 max abs error " + err);
        UNet2DModel m64 = UNet2DModel.load(d, DataType.DOUBLE);
        INDArray out64 = Nd4j.create(DataType.DOUBLE, x.shape());
        m64.forward(x.castTo(DataType.DOUBLE), t, out64);
        INDArray ref64 = Npy.read(d.resolve("out64.npy"));
        // PyTorch's float64 run still builds the time projection in float32 (≈1e-7 relative); compare loosely
        double rel = out64.sub(ref64).norm2Number().doubleValue() / ref64.norm2Number().doubleValue();
        assertTrue(rel < 1e-6, "float64 relative error " + rel);
    }
}
