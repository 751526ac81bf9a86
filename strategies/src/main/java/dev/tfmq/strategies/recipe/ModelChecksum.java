package dev.tfmq.strategies.recipe;

import dev.tfmq.model.nn.Module;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.FloatAccess;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;

/**
 * SHA-256 over a model's parameters (name, shape, float32 little-endian values, in registration order): identifies
 * the full-precision model an artifact was made from, whether it was loaded from a checkpoint or built in memory.
 */
public final class ModelChecksum {
    private ModelChecksum() {}

    public static String sha256(UNet2DModel model) {
        MessageDigest md = dev.tfmq.model.io.Sha256.digest();
        for (Module m : model.modules().values()) {
            for (Map.Entry<String, INDArray> p : m.parameters().entrySet()) {
                md.update(p.getKey().getBytes(StandardCharsets.UTF_8));
                ByteBuffer shape = ByteBuffer.allocate(8 * p.getValue().rank()).order(ByteOrder.LITTLE_ENDIAN);
                for (long d : p.getValue().shape()) shape.putLong(d);
                md.update(shape.array());
                double[] v = FloatAccess.toDoubles(p.getValue());
                ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                for (double x : v) b.putFloat((float) x);
                md.update(b.array());
            }
        }
        return dev.tfmq.model.io.Sha256.hex(md);
    }
}
