package dev.tfmq.model.data;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the Fashion-MNIST IDX files are: the folder named by the system property {@code tfmq.datasets.fashion-mnist}
 * or the environment variable {@code TFMQ_FASHION_MNIST_DIR}, else where the Debian package
 * {@code dataset-fashion-mnist} installs them. Commands check {@link #missing()} before any expensive work, so a run
 * that needs the data and lacks it fails at once with the command that provides it.
 */
public final class FashionMnist {
    /** Where the Debian package {@code dataset-fashion-mnist} installs the data. */
    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    /** The command that provides the data on Debian. */
    public static final String INSTALL = "sudo apt-get install dataset-fashion-mnist";

    private static final String[] FILES = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte"};

    private FashionMnist() {}

    public static Path dir() {
        String p = System.getProperty("tfmq.datasets.fashion-mnist");
        if (p == null || p.isBlank()) p = System.getenv("TFMQ_FASHION_MNIST_DIR");
        return p == null || p.isBlank() ? DEBIAN_DIR : Path.of(p);
    }

    /** The IDX files (by base name) absent from {@link #dir()}, raw or gzip; empty when the dataset is complete. */
    public static List<String> missing() {
        Path dir = dir();
        List<String> out = new ArrayList<>();
        for (String f : FILES) {
            if (!Files.isRegularFile(dir.resolve(f + ".gz")) && !Files.isRegularFile(dir.resolve(f))) out.add(f);
        }
        return out;
    }

    public static boolean available() {
        return missing().isEmpty();
    }

    /** What to tell a user whose {@code what} needs the data: where it was looked for and how to provide it. */
    public static String missingMessage(String what) {
        Path dir = dir();
        return what + " needs the Fashion-MNIST IDX files, and " + dir + (Files.isDirectory(dir) ? " lacks " + missing()
                : " does not exist") + "; install them with '" + INSTALL + "' or point TFMQ_FASHION_MNIST_DIR at a folder "
                + "that holds them";
    }

    /** The training (60 000) or test (10 000) split, with labels; a clear error naming the folder when absent. */
    public static ImageDataset open(boolean train) throws IOException {
        if (!available()) throw new FileNotFoundException(missingMessage("fashion-mnist:" + (train ? "train" : "test")));
        return IdxReader.fashionMnist(dir(), train);
    }
}
