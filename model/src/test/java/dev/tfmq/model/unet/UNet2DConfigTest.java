package dev.tfmq.model.unet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tfmq.model.Fixtures;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class UNet2DConfigTest {
    @TempDir
    Path dir;

    private ObjectNode fixtureConfig() throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(Fixtures.tinyGray28().resolve("unet/config.json").toFile());
    }

    private String error(ObjectNode cfg) throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, cfg.toString());
        return assertThrows(FormatException.class, () -> UNet2DConfig.read(f)).getMessage();
    }

    @Test
    void readsTheFixtureConfig() throws IOException {
        UNet2DConfig c = UNet2DConfig.read(Fixtures.tinyGray28().resolve("unet/config.json"));
        assertArrayEquals(new int[]{32, 64, 64}, c.blockOutChannels());
        assertEquals(128, c.timeEmbedDim());
        assertEquals(8, c.attentionHeadDim());
        assertTrue(c.flipSinToCos());
    }

    @Test
    void unsupportedFieldsAndValuesAreNamed() throws IOException {
        ObjectNode c = fixtureConfig();
        c.put("cross_attention_dim", 768);
        String m = error(c);
        assertTrue(m.contains("cross_attention_dim") && m.contains("config.json"), m);

        c = fixtureConfig();
        c.put("time_embedding_type", "fourier");
        assertTrue(error(c).contains("'time_embedding_type' = 'fourier' is not supported"));

        c = fixtureConfig();
        c.put("class_embed_type", "timestep");
        assertTrue(error(c).contains("class_embed_type"));

        c = fixtureConfig();
        c.putArray("down_block_types").add("CrossAttnDownBlock2D").add("DownBlock2D").add("DownBlock2D");
        assertTrue(error(c).contains("CrossAttnDownBlock2D"));

        c = fixtureConfig();
        c.put("resnet_time_scale_shift", "spatial");
        assertTrue(error(c).contains("spatial"));

        c = fixtureConfig();
        c.put("norm_num_groups", 7);
        assertTrue(error(c).contains("not divisible by norm_num_groups 7"));

        c = fixtureConfig();
        c.put("layers_per_block", "two");
        assertTrue(error(c).contains("'layers_per_block'"));

        c = fixtureConfig();
        c.put("act_fn", "gelu");
        assertTrue(error(c).contains("act_fn 'gelu'"));

        c = fixtureConfig();
        c.putArray("up_block_types").add("UpBlock2D");
        assertTrue(error(c).contains("up_block_types has 1 entries"));
    }

    @Test
    void weightsThatDoNotFitTheConfigAreNamed() throws IOException {
        Path unet = dir.resolve("unet");
        Files.createDirectories(unet);
        Files.copy(Fixtures.tinyGray28().resolve("unet/config.json"), unet.resolve("config.json"));
        Map<String, INDArray> w = new LinkedHashMap<>(SafeTensors.read(
                Fixtures.tinyGray28().resolve("unet/diffusion_pytorch_model.safetensors")).tensors());
        w.remove("mid_block.resnets.1.conv2.bias");
        SafeTensors.write(unet.resolve("diffusion_pytorch_model.safetensors"), w, Map.of());
        String m = assertThrows(FormatException.class, () -> UNet2DModel.load(unet)).getMessage();
        assertTrue(m.contains("missing tensor 'mid_block.resnets.1.conv2.bias'"), m);

        w.put("mid_block.resnets.1.conv2.bias", w.get("conv_in.bias"));
        SafeTensors.write(unet.resolve("diffusion_pytorch_model.safetensors"), w, Map.of());
        m = assertThrows(FormatException.class, () -> UNet2DModel.load(unet)).getMessage();
        assertTrue(m.contains("'mid_block.resnets.1.conv2.bias' has shape [32]") && m.contains("[64]"), m);

        w.put("mid_block.resnets.1.conv2.bias", w.get("mid_block.resnets.0.conv2.bias"));
        w.put("extra.weight", w.get("conv_in.bias"));
        SafeTensors.write(unet.resolve("diffusion_pytorch_model.safetensors"), w, Map.of());
        m = assertThrows(FormatException.class, () -> UNet2DModel.load(unet)).getMessage();
        assertTrue(m.contains("extra.weight"), m);

        Files.delete(unet.resolve("config.json"));
        assertTrue(assertThrows(FormatException.class, () -> UNet2DModel.load(unet)).getMessage().contains("no config.json"));
    }

    @Test
    void valuesOutsideTheirMeaningAreRefusedAtLoad() throws IOException {
        // issue 14: these used to give "/ by zero", NaN output with exit 0 or a cropped 32x32 result
        Object[][] cases = {
                {"norm_num_groups", 0, "key 'norm_num_groups' = 0: must be >= 1"},
                {"attention_head_dim", 0, "key 'attention_head_dim' = 0: must be >= 1"},
                {"attention_head_dim", -8, "key 'attention_head_dim' = -8: must be >= 1"},
                {"attn_norm_num_groups", 0, "key 'attn_norm_num_groups' = 0: must be >= 1"},
                {"attn_norm_num_groups", 5, "key 'attn_norm_num_groups' = 5 does not divide the 64 channels"},
                {"norm_eps", -1.0, "key 'norm_eps' = -1.0: must be a finite number > 0"},
                {"norm_eps", 0.0, "key 'norm_eps' = 0.0: must be a finite number > 0"},
                {"mid_block_scale_factor", 0.0, "key 'mid_block_scale_factor' = 0.0"},
                {"downsample_padding", -1, "key 'downsample_padding' = -1: must be >= 0"},
                {"sample_size", -28, "key 'sample_size' = -28: must lie in [1, 4096]"},
                {"sample_size", 0, "key 'sample_size' = 0: must lie in [1, 4096]"},
                {"sample_size", 1 << 20, "key 'sample_size' = 1048576: must lie in [1, 4096]"},
                {"sample_size", 30, "key 'sample_size' = 30: the UNet downsamples 2 times"},
                {"sample_size", 15, "use a multiple of 4 (e.g. 12)"},
        };
        for (Object[] k : cases) {
            ObjectNode c = fixtureConfig();
            if (k[1] instanceof Double d) c.put((String) k[0], d);
            else c.put((String) k[0], (Integer) k[1]);
            String m = error(c);
            assertTrue(m.contains((String) k[2]) && m.contains("config.json"), k[0] + "=" + k[1] + ": " + m);
        }
        ObjectNode c = fixtureConfig();
        c.putNull("norm_num_groups");
        c.putArray("block_out_channels").add(2).add(64).add(64);
        assertTrue(error(c).contains("fallback min(channels / 4, 32) = 0"), error(c));
        // the sizes that do fit load
        for (int size : new int[]{28, 32, 4, 64}) {
            c = fixtureConfig();
            c.put("sample_size", size);
            Path f = dir.resolve("ok.json");
            Files.writeString(f, c.toString());
            assertEquals(size, UNet2DConfig.read(f).sampleSize());
        }
    }

    @Test
    void theSizeRuleFollowsTheDownsamplingPadding() throws IOException {
        UNet2DConfig c = UNet2DConfig.read(Fixtures.tinyGray28().resolve("unet/config.json"));
        assertEquals(2, c.downsamplings());
        assertNull(c.sizeProblem(28));
        assertNull(c.sizeProblem(8));
        assertNotNull(c.sizeProblem(15));
        assertNotNull(c.sizeProblem(30));
        assertNotNull(c.sizeProblem(2));
        assertNotNull(c.sizeProblem(0));
        ObjectNode n = fixtureConfig();
        n.put("downsample_padding", 0);
        Path f = dir.resolve("pad0.json");
        Files.writeString(f, n.toString());
        UNet2DConfig p0 = UNet2DConfig.read(f);
        assertNull(p0.sizeProblem(32));
        assertNotNull(p0.sizeProblem(30));
    }
}
