package dev.tfmq.metrics.features;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.metrics.Fixtures;
import dev.tfmq.metrics.PortableRandom;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npy;
import dev.tfmq.model.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.tfmq.metrics.features.FashionFeatureNetTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.*;

/** Against tools/metrics_inception_fixture.py: same seeded weights, PyTorch forward of the FID Inception. */
class InceptionV3Test {
    static Path dir() {
        return Fixtures.path("inception-random/manifest.json").getParent();
    }

    @Test
    void resizeMatchesTorch() throws Exception {
        INDArray in = Npy.read(dir().resolve("resize_in.npy"));
        INDArray up = Npy.read(dir().resolve("resize_up.npy"));
        INDArray down = Npy.read(dir().resolve("resize_down.npy"));
        assertTrue(maxAbsDiff(Resize.bilinear(in, 97, 61), up) < 1e-6, "bilinear upsampling");
        assertTrue(maxAbsDiff(Resize.bilinear(in, 17, 13), down) < 1e-6, "antialiased downsampling");
        // identity size is the identity
        assertTrue(maxAbsDiff(Resize.bilinear(in, 40, 30), in) < 1e-7);
    }

    /** Rebuilds the fixture's state dict and folds batch norm as tools/metrics_convert_inception.py does. */
    static Path writeConvertedWeights(Path target) throws Exception {
        JsonNode manifest = new ObjectMapper().readTree(dir().resolve("manifest.json").toFile());
        double eps = manifest.get("bn_eps").asDouble();
        Map<String, double[]> state = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (JsonNode t : manifest.get("tensors")) {
            long[] shape = new long[t.get("shape").size()];
            int n = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.get("shape").get(i).asLong();
                n *= (int) shape[i];
            }
            double[] base = t.get("dist").asText().equals("normal") ? PortableRandom.normals(t.get("seed").asLong(), n)
                    : PortableRandom.uniforms(t.get("seed").asLong(), n);
            double add = t.get("add").asDouble();
            double mul = t.get("mul").asDouble();
            for (int i = 0; i < n; i++) base[i] = (float) (add + mul * base[i]); // float32 storage
            state.put(t.get("name").asText(), base);
            shapes.put(t.get("name").asText(), shape);
        }
        Map<String, INDArray> folded = new LinkedHashMap<>();
        for (String key : state.keySet()) {
            if (!key.endsWith(".conv.weight")) continue;
            String name = key.substring(0, key.length() - ".conv.weight".length());
            double[] w = state.get(key);
            double[] gamma = state.get(name + ".bn.weight");
            double[] beta = state.get(name + ".bn.bias");
            double[] mean = state.get(name + ".bn.running_mean");
            double[] var = state.get(name + ".bn.running_var");
            int out = gamma.length;
            int per = w.length / out;
            float[] fw = new float[w.length];
            float[] fb = new float[out];
            for (int o = 0; o < out; o++) {
                double s = gamma[o] / Math.sqrt(var[o] + eps);
                for (int i = 0; i < per; i++) fw[o * per + i] = (float) (w[o * per + i] * s);
                fb[o] = (float) (beta[o] - mean[o] * s);
            }
            folded.put(name + ".weight", Nd4j.create(fw, shapes.get(key), 'c'));
            folded.put(name + ".bias", Nd4j.create(fb, new long[] {out}, 'c'));
        }
        for (String key : new String[] {"fc.weight", "fc.bias"}) {
            double[] v = state.get(key);
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
            folded.put(key, Nd4j.create(f, shapes.get(key), 'c'));
        }
        Files.createDirectories(target);
        SafeTensors.write(target.resolve("model.safetensors"), folded, Map.of());
        new ObjectMapper().writeValue(target.resolve("config.json").toFile(), manifest.get("config"));
        return target;
    }

    @Test
    void forwardMatchesPytorch(@TempDir Path tmp) throws Exception {
        InceptionV3 net = InceptionV3.load(writeConvertedWeights(tmp.resolve("inception")));
        INDArray x = Npy.read(dir().resolve("x.npy"));
        long t0 = System.nanoTime();
        Features f = net.extract(x);
        System.out.printf("Inception forward of %d images: %.0f ms%n", x.size(0), (System.nanoTime() - t0) / 1e6);
        double dp = maxAbsDiff(f.pooled(), Npy.read(dir().resolve("pooled.npy")));
        double ds = maxAbsDiff(f.spatial(), Npy.read(dir().resolve("spatial.npy")));
        double dl = maxAbsDiff(f.logits(), Npy.read(dir().resolve("logits.npy")));
        System.out.printf("Inception vs PyTorch: max |Δ| pooled %.2e spatial %.2e logits %.2e%n", dp, ds, dl);
        assertTrue(dp < 1e-4 && ds < 1e-4 && dl < 1e-4, dp + " " + ds + " " + dl);
        assertEquals(2023, net.spatialDim());

        // gray input is replicated to RGB
        INDArray gray = x.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1),
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
        INDArray rgb = Nd4j.concat(1, gray, gray, gray);
        assertTrue(maxAbsDiff(net.extract(gray).pooled(), net.extract(rgb).pooled()) < 1e-6);

        // a state dict that was not converted (BN not folded) is refused with the key named
        Path raw = tmp.resolve("raw");
        Files.createDirectories(raw);
        Files.copy(tmp.resolve("inception/config.json"), raw.resolve("config.json"));
        Map<String, INDArray> t = new LinkedHashMap<>(SafeTensors.read(tmp.resolve("inception/model.safetensors")).tensors());
        t.remove("Mixed_6d.branch1x1.bias");
        SafeTensors.write(raw.resolve("model.safetensors"), t, Map.of());
        FormatException e = assertThrows(FormatException.class, () -> InceptionV3.load(raw));
        assertTrue(e.getMessage().contains("Mixed_6d.branch1x1.bias"), e.getMessage());
        assertThrows(java.io.FileNotFoundException.class, () -> InceptionV3.load(tmp.resolve("nowhere")));
    }
}
