package dev.tfmq.model.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes each image of a batch [B, C, H, W] (C = 1 or 3) as its own PNG, named by its global sample index with six
 * digits ({@code 000123.png}), so that file order is sample order and {@link ImageFolderReader} reads them back in
 * that order. Each file is written atomically.
 */
public final class PngImages {
    private PngImages() {}

    /** @return the files written, in batch order */
    public static List<Path> write(Path dir, INDArray batch, PixelRange range, long firstIndex) throws IOException {
        long[] s = PngGrid.checkBatch(batch);
        int b = (int) s[0], c = (int) s[1], h = (int) s[2], w = (int) s[3];
        double[] v = batch.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        List<Path> files = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            BufferedImage img = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
            PngGrid.paint(img.getRaster(), v, i, c, h, w, 0, 0, range);
            Path f = dir.resolve(String.format("%06d.png", firstIndex + i));
            PngGrid.writePng(f, img);
            files.add(f);
        }
        return files;
    }
}
