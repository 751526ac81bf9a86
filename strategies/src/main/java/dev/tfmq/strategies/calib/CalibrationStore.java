package dev.tfmq.strategies.calib;

import dev.tfmq.model.io.SafeTensors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Calibration inputs (x_t, t) with the sampling step they were taken at, kept in memory up to a byte budget.
 * Past the budget the oldest batches spill to safetensors files (written atomically) in a spill folder and are
 * read back on demand, so calibration sets larger than the heap still work (the reference code's memory is
 * dominated by exactly these cached inputs — upstream issue TFMQ-DM #3).
 */
public final class CalibrationStore implements AutoCloseable {
    private final long[] chw;
    private final long perSample;
    private final long budgetBytes;
    private final Path spillDir;
    private final List<Chunk> chunks = new ArrayList<>();
    private final List<int[]> index = new ArrayList<>();
    private long residentBytes;
    private int spills;
    private Chunk loaded;
    private INDArray loadedX;

    private static final class Chunk {
        final int step;
        final long t;
        final int count;
        INDArray x;
        Path file;

        Chunk(int step, long t, int count, INDArray x) {
            this.step = step;
            this.t = t;
            this.count = count;
            this.x = x;
        }
    }

    /**
     * @param chw         sample shape {C, H, W}
     * @param budgetBytes bytes of samples kept in memory (float32)
     * @param spillDir    where batches past the budget go (created on first spill); may be null when nothing
     *                    should ever spill, in which case exceeding the budget is an error
     */
    public CalibrationStore(long[] chw, long budgetBytes, Path spillDir) {
        if (chw.length != 3) throw new IllegalArgumentException("sample shape must be {C, H, W}, got " + Arrays.toString(chw));
        if (budgetBytes < 0) throw new IllegalArgumentException("memory budget must be >= 0 bytes, got " + budgetBytes);
        this.chw = chw.clone();
        this.perSample = chw[0] * chw[1] * chw[2] * 4;
        this.budgetBytes = budgetBytes;
        this.spillDir = spillDir;
    }

    public long[] sampleShape() { return chw.clone(); }

    public int size() { return index.size(); }

    public long residentBytes() { return residentBytes; }

    /** Batches written to disk so far. */
    public int spilledChunks() { return spills; }

    /** Adds a batch [n, C, H, W] taken at sampling step {@code step} (time-step {@code t}); the data is copied. */
    public void add(int step, long t, INDArray batch) {
        if (batch.rank() != 4 || batch.size(1) != chw[0] || batch.size(2) != chw[1] || batch.size(3) != chw[2]) {
            throw new IllegalArgumentException("calibration batch of shape " + Arrays.toString(batch.shape())
                    + " does not hold samples of shape " + Arrays.toString(chw));
        }
        int n = (int) batch.size(0);
        Chunk c = new Chunk(step, t, n, batch.castTo(DataType.FLOAT).dup('c'));
        int ci = chunks.size();
        chunks.add(c);
        for (int i = 0; i < n; i++) index.add(new int[] {ci, i});
        residentBytes += n * perSample;
        for (int i = 0; residentBytes > budgetBytes && i < chunks.size(); i++) {
            Chunk old = chunks.get(i);
            if (old.x != null) spill(i, old);
        }
    }

    private void spill(int i, Chunk c) {
        if (spillDir == null) {
            throw new IllegalStateException("calibration data exceeds its memory budget of " + budgetBytes
                    + " bytes and no spill folder is configured");
        }
        Path f = spillDir.resolve(String.format("calib-%06d.safetensors", i));
        try {
            Files.createDirectories(spillDir);
            SafeTensors.write(f, Map.of("x", c.x), Map.of("step", Integer.toString(c.step), "t", Long.toString(c.t)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot spill calibration batch to " + f, e);
        }
        c.file = f;
        c.x = null;
        residentBytes -= c.count * perSample;
        spills++;
    }

    public int step(int i) { return chunks.get(entry(i)[0]).step; }

    public long timestep(int i) { return chunks.get(entry(i)[0]).t; }

    /** Indices of all samples of a sampling step, in insertion order. */
    public int[] indicesOfStep(int step) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < index.size(); i++) if (chunks.get(index.get(i)[0]).step == step) out.add(i);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The sampling steps present, in first-insertion order. */
    public int[] steps() {
        return chunks.stream().mapToInt(c -> c.step).distinct().toArray();
    }

    public long[] timesteps(int[] indices) {
        long[] t = new long[indices.length];
        for (int i = 0; i < indices.length; i++) t[i] = timestep(indices[i]);
        return t;
    }

    /** The samples at {@code indices} as a new [n, C, H, W] float32 array. */
    public INDArray x(int[] indices) {
        INDArray out = Nd4j.create(DataType.FLOAT, indices.length, chw[0], chw[1], chw[2]);
        for (int i = 0; i < indices.length; i++) {
            int[] e = entry(indices[i]);
            out.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all())
                    .assign(data(chunks.get(e[0])).get(NDArrayIndex.point(e[1]), NDArrayIndex.all(), NDArrayIndex.all(),
                            NDArrayIndex.all()));
        }
        return out;
    }

    private int[] entry(int i) {
        if (i < 0 || i >= index.size()) throw new IndexOutOfBoundsException("calibration sample " + i + " of " + index.size());
        return index.get(i);
    }

    private INDArray data(Chunk c) {
        if (c.x != null) return c.x;
        if (loaded == c) return loadedX;
        try {
            SafeTensors st = SafeTensors.read(c.file);
            loadedX = st.get("x");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read spilled calibration batch " + c.file, e);
        }
        loaded = c;
        return loadedX;
    }

    /** Deletes the spill files. */
    @Override
    public void close() {
        for (Chunk c : chunks) {
            if (c.file != null) {
                try {
                    Files.deleteIfExists(c.file);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot delete spill file " + c.file, e);
                }
            }
        }
    }
}
