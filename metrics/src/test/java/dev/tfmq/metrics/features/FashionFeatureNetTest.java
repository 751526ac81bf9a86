package dev.tfmq.metrics.features;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tfmq.metrics.Fixtures;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npy;
import dev.tfmq.model.io.SafeTensors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class FashionFeatureNetTest {

    static double maxAbsDiff(INDArray a, INDArray b) {
        assertArrayEquals(b.shape(), a.shape());
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    static void checkAgainstPytorch(Path modelDir, Path fixtureDir) throws Exception {
        FashionFeatureNet net = FashionFeatureNet.load(modelDir);
        INDArray x = Npy.read(fixtureDir.resolve("x.npy"));
        INDArray pooled = Npy.read(fixtureDir.resolve("pooled.npy"));
        INDArray spatial = Npy.read(fixtureDir.resolve("spatial.npy"));
        INDArray logits = Npy.read(fixtureDir.resolve("logits.npy"));
        assertEquals(pooled.columns(), net.pooledDim());
        assertEquals(spatial.columns(), net.spatialDim());
        assertEquals(logits.columns(), net.numClasses());
        for (int pass = 0; pass < 2; pass++) { // the second pass reuses the buffers
            Features f = net.extract(x);
            double dp = maxAbsDiff(f.pooled(), pooled);
            double ds = maxAbsDiff(f.spatial(), spatial);
            double dl = maxAbsDiff(f.logits(), logits);
            System.out.printf("%s pass %d: max |Δ| pooled %.2e spatial %.2e logits %.2e%n", modelDir.getFileName(), pass, dp, ds, dl);
            assertTrue(dp < 1e-4 && ds < 1e-4 && dl < 1e-4, dp + " " + ds + " " + dl);
        }
        // a smaller batch (new buffers) gives the same rows
        INDArray two = x.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all()).dup();
        Features f2 = net.extract(two);
        assertTrue(maxAbsDiff(f2.pooled(), pooled.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all()).dup()) < 1e-4);
    }

    @Test
    void matchesPytorchOnRandomWeights() throws Exception {
        Path dir = Fixtures.path("fmnist-features-random/config.json").getParent();
        checkAgainstPytorch(dir, dir);
    }

    @Test
    void matchesPytorchOnBundledModel() throws Exception {
        Path root = Path.of(System.getProperty("tfmq.root", "."));
        Path model = root.resolve("models/fmnist-features");
        Path fixture = root.resolve("metrics/src/test/resources/fmnist-features");
        Assumptions.assumeTrue(Files.isRegularFile(model.resolve("model.safetensors"))
                && Files.isRegularFile(fixture.resolve("x.npy")), "bundled fmnist-features not present yet");
        checkAgainstPytorch(model, fixture);
    }

    @Test
    void rejectsBadInputs() throws Exception {
        Path dir = Fixtures.path("fmnist-features-random/config.json").getParent();
        FashionFeatureNet net = FashionFeatureNet.load(dir);
        assertThrows(IllegalArgumentException.class, () -> net.extract(Nd4j.zeros(DataType.FLOAT, 2, 1, 32, 32)));
        assertThrows(IllegalArgumentException.class, () -> net.extract(Nd4j.zeros(DataType.FLOAT, 2, 3, 28, 28)));
    }

    static Path copyWithConfig(Path src, Path dst, java.util.function.Consumer<ObjectNode> edit) throws Exception {
        Files.createDirectories(dst);
        Files.copy(src.resolve("model.safetensors"), dst.resolve("model.safetensors"));
        ObjectMapper m = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) m.readTree(src.resolve("config.json").toFile());
        edit.accept(cfg);
        m.writeValue(dst.resolve("config.json").toFile(), cfg);
        return dst;
    }

    @Test
    void clearErrorsForWrongConfigOrWeights(@TempDir Path tmp) throws Exception {
        Path dir = Fixtures.path("fmnist-features-random/config.json").getParent();
        Path wrongClass = copyWithConfig(dir, tmp.resolve("a"), c -> c.put("_class_name", "InceptionV3"));
        FormatException e = assertThrows(FormatException.class, () -> FashionFeatureNet.load(wrongClass));
        assertTrue(e.getMessage().contains("InceptionV3") && e.getMessage().contains("config.json"), e.getMessage());
        Path wrongVersion = copyWithConfig(dir, tmp.resolve("b"), c -> c.put("version", 2));
        e = assertThrows(FormatException.class, () -> FashionFeatureNet.load(wrongVersion));
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
        Path noTap = copyWithConfig(dir, tmp.resolve("c"), c -> c.remove("spatial_tap"));
        e = assertThrows(FormatException.class, () -> FashionFeatureNet.load(noTap));
        assertTrue(e.getMessage().contains("spatial_tap"), e.getMessage());
        // config promising wider layers than the weights hold
        Path wider = copyWithConfig(dir, tmp.resolve("d"), c -> ((com.fasterxml.jackson.databind.node.ArrayNode) c.get("stages").get(0)).set(0, 9));
        e = assertThrows(FormatException.class, () -> FashionFeatureNet.load(wider));
        assertTrue(e.getMessage().contains("stages.0.0.weight"), e.getMessage());
        // weights missing a tensor
        Path missing = tmp.resolve("e");
        Files.createDirectories(missing);
        Files.copy(dir.resolve("config.json"), missing.resolve("config.json"));
        Map<String, INDArray> t = new LinkedHashMap<>(SafeTensors.read(dir.resolve("model.safetensors")).tensors());
        t.remove("fc.bias");
        SafeTensors.write(missing.resolve("model.safetensors"), t, Map.of());
        e = assertThrows(FormatException.class, () -> FashionFeatureNet.load(missing));
        assertTrue(e.getMessage().contains("fc.bias"), e.getMessage());
    }
}
