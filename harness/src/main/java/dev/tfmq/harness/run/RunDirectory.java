package dev.tfmq.harness.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.data.PngGrid;
import dev.tfmq.model.io.AtomicFiles;
import org.nd4j.linalg.api.ndarray.INDArray;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The files of one run:
 * <pre>
 *   config.conf        the resolved configuration (tfmq block)
 *   provenance.json    model/recipe checksums, seeds, versions, machine
 *   progress.jsonl     append-only journal: one JSON line per generated batch, checkpoint, resume, end
 *   checkpoint.cbor    streaming statistics and everything else the final numbers depend on (atomic; the commit point)
 *   grids/             FP and quantized sample grids (PNG): batch-NNNNN-{fp,quantized}.png, latest-{fp,quantized}.png
 *   disturbance.csv    per-time-step disturbance (rewritten at each checkpoint and at the end)
 *   summary.json       final metrics, disturbance summary, selection, throughput, gate verdict
 *   gate-report.xml / gate-report.md   JUnit XML and Markdown gate reports
 * </pre>
 */
public final class RunDirectory {
    /** The commit point of a run: its presence means the folder holds a run. */
    public static final String CHECKPOINT = "checkpoint.cbor";

    public record Grids(String fpPngBase64, String qPngBase64) {}

    public static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.WRITE_NAN_AS_STRINGS).build().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    private static final ObjectMapper CBOR = new ObjectMapper(new CBORFactory());

    private final Path root;

    public RunDirectory(Path root) throws IOException {
        this.root = root.toAbsolutePath();
        Files.createDirectories(this.root.resolve("grids"));
    }

    public Path root() { return root; }

    public Path file(String name) { return root.resolve(name); }

    /** Appends one JSON line to progress.jsonl and forces it to disk. */
    public synchronized void journal(String event, Map<String, Object> fields) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", event);
        line.put("time", java.time.Instant.now().toString());
        line.putAll(fields);
        try (FileChannel ch = FileChannel.open(file("progress.jsonl"), StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE)) {
            byte[] b = (new ObjectMapper().writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
            ch.write(ByteBuffer.wrap(b));
            ch.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file("progress.jsonl"), e);
        }
    }

    public void writeCheckpoint(Checkpoint c) {
        try {
            byte[] bytes = CBOR.writeValueAsBytes(c);
            AtomicFiles.write(file("checkpoint.cbor"), out -> out.write(bytes));
            // the commit succeeded: what a killed earlier commit (or grid write) left half-written goes now
            AtomicFiles.removeStale(root);
            AtomicFiles.removeStale(root.resolve("grids"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file("checkpoint.cbor"), e);
        }
    }

    public Optional<Checkpoint> readCheckpoint() throws IOException {
        Path f = file("checkpoint.cbor");
        if (!Files.exists(f)) return Optional.empty();
        try {
            Checkpoint c = CBOR.readValue(Files.readAllBytes(f), Checkpoint.class);
            if (c.version() != Checkpoint.VERSION) {
                throw new IOException(f + ": checkpoint format version " + c.version() + ", this tfmq reads " + Checkpoint.VERSION);
            }
            return Optional.of(c);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(f + " is not a readable tfmq checkpoint: " + e.getOriginalMessage(), e);
        }
    }

    public void writeText(String name, String text) {
        try {
            AtomicFiles.writeString(file(name), text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file(name), e);
        }
    }

    public void writeJson(String name, Object value) {
        try {
            writeText(name, JSON.writeValueAsString(value) + "\n");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + name + ": " + e.getMessage(), e);
        }
    }

    /** Writes the latest grids (and numbered copies when {@code keep}); images in [0, 1]. */
    public Grids writeGrids(int batch, INDArray fp, INDArray q, boolean keep) {
        int cols = (int) Math.ceil(Math.sqrt(fp.size(0)));
        byte[] f = png(fp, cols), g = png(q, cols);
        try {
            AtomicFiles.write(file("grids/latest-fp.png"), out -> out.write(f));
            AtomicFiles.write(file("grids/latest-quantized.png"), out -> out.write(g));
            if (keep) {
                AtomicFiles.write(file(String.format("grids/batch-%05d-fp.png", batch)), out -> out.write(f));
                AtomicFiles.write(file(String.format("grids/batch-%05d-quantized.png", batch)), out -> out.write(g));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write grids under " + file("grids"), e);
        }
        Base64.Encoder b64 = Base64.getEncoder();
        return new Grids(b64.encodeToString(f), b64.encodeToString(g));
    }

    private static byte[] png(INDArray images, int cols) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(PngGrid.toImage(images, PixelRange.ZERO_ONE, cols), "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
