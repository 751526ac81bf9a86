package dev.tfmq.model.unet;

import dev.tfmq.model.io.FormatException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The checkpoint's tensors as the model takes them: renames pre-0.15 attention keys (query/key/value/proj_attn),
 * checks every shape against what the config implies, and reports keys that the config never asked for.
 */
final class Weights {
    private static final Map<String, String> LEGACY = Map.of(
            ".query.", ".to_q.", ".key.", ".to_k.", ".value.", ".to_v.", ".proj_attn.", ".to_out.0.");

    private final Path file;
    private final Map<String, INDArray> tensors = new LinkedHashMap<>();
    private final Set<String> unused;
    private final DataType dtype;

    Weights(Path file, Map<String, INDArray> raw, DataType dtype) {
        this.file = file;
        this.dtype = dtype;
        for (Map.Entry<String, INDArray> e : raw.entrySet()) {
            String k = e.getKey();
            for (Map.Entry<String, String> r : LEGACY.entrySet()) {
                if (k.contains(".attentions.") && k.contains(r.getKey())) k = k.replace(r.getKey(), r.getValue());
            }
            tensors.put(k, e.getValue());
        }
        unused = new LinkedHashSet<>(tensors.keySet());
    }

    /**
     * Weights drawn at random (uniform in ±1/√fan_in, PyTorch's default scale) for every tensor the config asks
     * for: benchmarks and tests of architectures without a checkpoint.
     */
    static Weights random(long seed, DataType dtype) {
        Weights w = new Weights(Path.of("<random weights>"), Map.of(), dtype);
        w.random = new java.util.SplittableRandom(seed);
        return w;
    }

    private java.util.SplittableRandom random;

    INDArray take(String name, long... shape) throws FormatException {
        if (random != null) {
            long n = 1;
            for (long d : shape) n *= d;
            long fanIn = shape.length > 1 ? n / shape[0] : shape[0];
            double bound = 1.0 / Math.sqrt(fanIn);
            double[] v = new double[(int) n];
            boolean normWeight = name.endsWith("norm1.weight") || name.endsWith("norm2.weight")
                    || name.endsWith("group_norm.weight") || name.equals("conv_norm_out.weight");
            for (int i = 0; i < v.length; i++) v[i] = normWeight ? 1.0 + 0.1 * random.nextDouble(-1, 1) : random.nextDouble(-bound, bound);
            return org.nd4j.linalg.factory.Nd4j.createFromArray(v).castTo(dtype).reshape('c', shape).dup('c');
        }
        INDArray a = tensors.get(name);
        if (a == null) throw new FormatException(file, "missing tensor '" + name + "' that the config requires");
        unused.remove(name);
        if (!Arrays.equals(a.shape(), shape)) {
            // Old checkpoints store attention projections as 1x1 convolutions.
            if (shape.length == 2 && a.rank() == 4 && a.size(2) == 1 && a.size(3) == 1
                    && a.size(0) == shape[0] && a.size(1) == shape[1]) {
                a = a.reshape(shape);
            } else {
                throw new FormatException(file, "tensor '" + name + "' has shape " + Arrays.toString(a.shape())
                        + " but the config implies " + Arrays.toString(shape));
            }
        }
        return a.dataType() == dtype ? a.dup('c') : a.castTo(dtype).dup('c');
    }

    boolean has(String name) {
        return tensors.containsKey(name);
    }

    void requireAllUsed() throws FormatException {
        if (!unused.isEmpty()) {
            throw new FormatException(file, unused.size() + " tensors are not part of the model the config describes, e.g. '"
                    + unused.iterator().next() + "' (wrong config.json for these weights?)");
        }
    }
}
