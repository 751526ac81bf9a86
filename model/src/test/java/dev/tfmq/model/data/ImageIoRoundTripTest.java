package dev.tfmq.model.data;

import dev.tfmq.model.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ImageIoRoundTripTest {
    @TempDir
    Path tmp;

    @Test
    void pngImagesRoundTripExactlyInBothRanges() throws IOException {
        ImageDataset d = IdxReaderTest.fixture().subset(0, 5);
        INDArray pm = d.toFloat(0, 5, PixelRange.MINUS_ONE_ONE);
        Path dir = tmp.resolve("imgs");
        List<Path> files = PngImages.write(dir, pm, PixelRange.MINUS_ONE_ONE, 98);
        assertEquals("000098.png", files.get(0).getFileName().toString());
        assertEquals("000102.png", files.get(4).getFileName().toString());
        ImageDataset back = ImageFolderReader.read(dir, ImageFolderReader.ColorMode.AUTO);
        assertEquals(1, back.channels());
        for (int i = 0; i < 5; i++) assertArrayEquals(d.imageBytes(i), back.imageBytes(i), "image " + i);

        // RGB, [0, 1], values out of range are clamped, NaN is 0
        INDArray rgb = Nd4j.rand(DataType.FLOAT, 3, 3, 7, 9);
        rgb.putScalar(new long[]{0, 0, 0, 0}, 1.7);
        rgb.putScalar(new long[]{0, 1, 0, 0}, -0.3);
        rgb.putScalar(new long[]{0, 2, 0, 0}, Float.NaN);
        Path rdir = tmp.resolve("rgb");
        PngImages.write(rdir, rgb, PixelRange.ZERO_ONE, 0);
        ImageDataset rb = ImageFolderReader.read(rdir, ImageFolderReader.ColorMode.AUTO);
        assertEquals(3, rb.channels());
        assertEquals(7, rb.height());
        assertEquals(9, rb.width());
        assertEquals(255, rb.pixel(0, 0, 0, 0));
        assertEquals(0, rb.pixel(0, 1, 0, 0));
        assertEquals(0, rb.pixel(0, 2, 0, 0));
        assertEquals((int) Math.floor(rgb.getDouble(2, 1, 3, 4) * 255 + 0.5), rb.pixel(2, 1, 3, 4));
        // to gray: PIL's integer luma
        ImageDataset g = ImageFolderReader.read(rdir, ImageFolderReader.ColorMode.GRAY);
        int r = rb.pixel(1, 0, 2, 3), gg = rb.pixel(1, 1, 2, 3), b = rb.pixel(1, 2, 2, 3);
        assertEquals((19595 * r + 38470 * gg + 7471 * b + 32768) >> 16, g.pixel(1, 0, 2, 3));
        assertEquals(g.pixel(1, 0, 2, 3), rb.toGray().pixel(1, 0, 2, 3));
        // gray read as RGB: replicated
        ImageDataset asRgb = ImageFolderReader.read(dir, ImageFolderReader.ColorMode.RGB);
        assertEquals(d.pixel(2, 0, 9, 9), asRgb.pixel(2, 2, 9, 9));
    }

    @Test
    void gridLayoutMatchesMakeGrid() throws IOException {
        ImageDataset d = IdxReaderTest.fixture().subset(0, 5);
        Path grid = tmp.resolve("grid").resolve("g.png");
        PngGrid.write(grid, d.toFloat(0, 5, PixelRange.ZERO_ONE), PixelRange.ZERO_ONE, 3);
        ImageDataset g = ImageFolderReader.read(grid.getParent(), ImageFolderReader.ColorMode.AUTO);
        assertEquals(1, g.size());
        assertEquals(2 * 30 + 2, g.height());
        assertEquals(3 * 30 + 2, g.width());
        for (int i = 0; i < 5; i++) {
            int x0 = 2 + (i % 3) * 30, y0 = 2 + (i / 3) * 30;
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) assertEquals(d.pixel(i, 0, y, x), g.pixel(0, 0, y0 + y, x0 + x));
            }
        }
        for (int y = 0; y < g.height(); y++) assertEquals(0, g.pixel(0, 0, y, 0), "padding");
        for (int y = 32; y < 60; y++) for (int x = 62; x < 90; x++) assertEquals(0, g.pixel(0, 0, y, x), "empty cell");
        // more columns than images: one row of B
        PngGrid.write(grid, d.toFloat(0, 2, PixelRange.ZERO_ONE), PixelRange.ZERO_ONE, 8);
        BufferedImage two = ImageIO.read(grid.toFile());
        assertEquals(2 * 30 + 2, two.getWidth());
        assertEquals(1, Files.list(grid.getParent()).count(), "no temporary files left behind");
        assertThrows(IllegalArgumentException.class,
                () -> PngGrid.write(grid, Nd4j.create(DataType.FLOAT, 2, 2, 4, 4), PixelRange.ZERO_ONE, 2));
    }

    @Test
    void folderReaderOrderSizesAndErrors() throws IOException {
        Path dir = tmp.resolve("f");
        Files.createDirectories(dir);
        BufferedImage a = new BufferedImage(4, 3, BufferedImage.TYPE_BYTE_GRAY);
        a.getRaster().setSample(1, 2, 0, 200);
        ImageIO.write(a, "png", dir.resolve("b.PNG").toFile());
        BufferedImage c = new BufferedImage(4, 3, BufferedImage.TYPE_INT_RGB);
        c.setRGB(0, 0, 0x102030);
        ImageIO.write(c, "png", dir.resolve("a.png").toFile());
        BufferedImage j = new BufferedImage(4, 3, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) j.setRGB(x, y, 0x808080);
        ImageIO.write(j, "jpg", dir.resolve("c.jpeg").toFile());
        Files.writeString(dir.resolve("notes.txt"), "ignored");
        ImageDataset d = ImageFolderReader.read(dir, ImageFolderReader.ColorMode.AUTO);
        assertEquals(3, d.size());
        assertEquals(3, d.channels(), "one RGB image makes the folder RGB");
        assertEquals(0x10, d.pixel(0, 0, 0, 0), "a.png first");
        assertEquals(0x30, d.pixel(0, 2, 0, 0));
        assertEquals(200, d.pixel(1, 1, 2, 1), "gray b.PNG replicated, raw values (no gamma)");
        assertEquals(128, d.pixel(2, 0, 1, 1), 2, "JPEG (lossy)");

        ImageIO.write(new BufferedImage(5, 3, BufferedImage.TYPE_BYTE_GRAY), "png", dir.resolve("d.png").toFile());
        FormatException e = assertThrows(FormatException.class, () -> ImageFolderReader.read(dir, ImageFolderReader.ColorMode.AUTO));
        assertTrue(e.getMessage().contains("d.png") && e.getMessage().contains("5x3") && e.getMessage().contains("a.png is 4x3"),
                e.getMessage());
        Files.delete(dir.resolve("d.png"));
        Files.write(dir.resolve("e.png"), new byte[]{1, 2, 3});
        FormatException bad = assertThrows(FormatException.class, () -> ImageFolderReader.read(dir, ImageFolderReader.ColorMode.AUTO));
        assertTrue(bad.getMessage().contains("e.png"), bad.getMessage());
        Path empty = tmp.resolve("empty");
        Files.createDirectories(empty);
        assertTrue(assertThrows(FormatException.class, () -> ImageFolderReader.read(empty, ImageFolderReader.ColorMode.AUTO))
                .getMessage().contains("no .png"));
    }

    /** A PNG holding only its signature, an IHDR chunk declaring w x h 8-bit gray, and IEND (no pixel data). */
    static byte[] pngHeaderOnly(int w, int h) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + 25 + 12);
        b.put(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        byte[] ihdr = java.nio.ByteBuffer.allocate(17).put("IHDR".getBytes()).putInt(w).putInt(h)
                .put(new byte[]{8, 0, 0, 0, 0}).array();
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(ihdr);
        b.putInt(13).put(ihdr).putInt((int) crc.getValue());
        crc.reset();
        crc.update("IEND".getBytes());
        b.putInt(0).put("IEND".getBytes()).putInt((int) crc.getValue());
        return b.array();
    }

    @Test
    void aPngDeclaringBillionsOfPixelsIsRefusedFromItsHeader() throws IOException {
        // issue 14 (bounded reading): a 45-byte PNG declaring 100000 x 100000 made the decoder allocate 10 GB
        Path dir = tmp.resolve("bomb");
        Files.createDirectories(dir);
        Files.write(dir.resolve("huge.png"), pngHeaderOnly(100_000, 100_000));
        String m = assertThrows(FormatException.class, () -> ImageFolderReader.read(dir, ImageFolderReader.ColorMode.AUTO)).getMessage();
        assertTrue(m.contains("huge.png") && m.contains("declares 100000x100000 pixels") && m.contains("over the limit of 67108864"), m);
        // under the per-image limit, but too many of them for one dataset: refused before the second is decoded
        Path many = tmp.resolve("many");
        Files.createDirectories(many);
        for (int k = 0; k < 40; k++) Files.write(many.resolve(String.format("%02d.png", k)), pngHeaderOnly(8000, 8000));
        m = assertThrows(FormatException.class, () -> ImageFolderReader.read(many, ImageFolderReader.ColorMode.AUTO)).getMessage();
        assertTrue(m.contains("40 images of 8000x8000") && m.contains("more than one dataset holds"), m);
    }
}
