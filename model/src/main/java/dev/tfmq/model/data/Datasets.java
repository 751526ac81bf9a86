package dev.tfmq.model.data;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens a dataset named on the command line or in a config: {@code fashion-mnist:train} / {@code fashion-mnist:test}
 * (the IDX files found by {@link FashionMnist}), or a folder of PNG/JPEG images.
 */
public final class Datasets {
    private Datasets() {}

    public static ImageDataset open(String spec) throws IOException {
        if (spec.startsWith("fashion-mnist:")) {
            String split = spec.substring("fashion-mnist:".length());
            if (!split.equals("train") && !split.equals("test")) {
                throw new IllegalArgumentException("dataset '" + spec + "': split must be train or test");
            }
            return FashionMnist.open(split.equals("train"));
        }
        Path dir = Path.of(spec);
        if (Files.isDirectory(dir)) return ImageFolderReader.read(dir, ImageFolderReader.ColorMode.AUTO);
        throw new FileNotFoundException("dataset '" + spec + "' is neither fashion-mnist:train|test nor an image folder");
    }
}
