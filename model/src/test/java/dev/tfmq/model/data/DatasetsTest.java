package dev.tfmq.model.data;

import dev.tfmq.model.testing.SystemRequirements;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class DatasetsTest {
    @TempDir
    Path dir;

    @Test
    void opensImageFoldersAndNamesBadSpecs() throws IOException {
        PngImages.write(dir, Nd4j.rand(DataType.FLOAT, 3, 1, 5, 7), PixelRange.ZERO_ONE, 0);
        ImageDataset d = Datasets.open(dir.toString());
        assertEquals(3, d.size());
        assertEquals(5, d.height());
        assertEquals(7, d.width());
        String m = assertThrows(IllegalArgumentException.class, () -> Datasets.open("fashion-mnist:validation")).getMessage();
        assertTrue(m.contains("train or test"), m);
        m = assertThrows(FileNotFoundException.class, () -> Datasets.open(dir.resolve("nope").toString())).getMessage();
        assertTrue(m.contains("nope"), m);
    }

    @Test
    void missingFashionMnistIsNamedWithTheInstallCommand() throws IOException {
        String before = System.getProperty("tfmq.datasets.fashion-mnist");
        System.setProperty("tfmq.datasets.fashion-mnist", dir.toString());
        try {
            assertFalse(FashionMnist.available());
            String m = assertThrows(FileNotFoundException.class, () -> Datasets.open("fashion-mnist:train")).getMessage();
            assertTrue(m.contains(dir.toString()) && m.contains(FashionMnist.INSTALL) && m.contains("train-images-idx3-ubyte"), m);
        } finally {
            if (before == null) System.clearProperty("tfmq.datasets.fashion-mnist");
            else System.setProperty("tfmq.datasets.fashion-mnist", before);
        }
    }

    @Test
    void opensFashionMnistWhenInstalled() throws IOException {
        SystemRequirements.require(FashionMnist.available(), "Fashion-MNIST (" + FashionMnist.dir() + ")", FashionMnist.INSTALL);
        ImageDataset test = Datasets.open("fashion-mnist:test");
        assertEquals(10_000, test.size());
        assertEquals(28, test.height());
        assertTrue(test.hasLabels());
    }
}
