package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.quant.TimestepContext;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Caches a reconstruction unit's data over the calibration samples with two passes of the whole network: one in
 * the reference state (the unit's FP output = target), one in the partially quantized state (the unit's input and,
 * for a ResBlock, its temporal input). Capture hooks are chained in front of whatever hooks the modules already
 * carry (activation quantizers), so they see each tensor before it is quantized in place.
 */
final class UnitCapture {
    record Captured(INDArray input, INDArray extra, INDArray target) {}

    private final UNet2DModel model;
    private final int batch;
    private final TimestepContext context;

    UnitCapture(UNet2DModel model, int batch, TimestepContext context) {
        this.model = model;
        this.batch = Math.max(1, batch);
        this.context = context;
    }

    /**
     * @param extraPath  module whose input ({@code extraInput}) or output is also captured (a ResBlock's
     *                   time_emb_proj), or null
     * @param reference  puts the network into the target state
     * @param quantized  puts the network into the input state
     */
    Captured capture(String path, String extraPath, boolean extraInput, CalibrationStore data, int[] idx,
                     Runnable reference, Runnable quantized) {
        // the reconstruction graphs take [B, C, H, W] data, so the captured passes run channel-first
        boolean channelsLast = model.setChannelsLast(false);
        try {
            return captureChannelFirst(path, extraPath, extraInput, data, idx, reference, quantized);
        } finally {
            model.setChannelsLast(channelsLast);
        }
    }

    private Captured captureChannelFirst(String path, String extraPath, boolean extraInput, CalibrationStore data,
                                         int[] idx, Runnable reference, Runnable quantized) {
        Module unit = model.module(path);
        INDArray[] target = new INDArray[1];
        INDArray[] input = new INDArray[1];
        INDArray[] extra = new INDArray[1];
        int[] row = new int[1];
        reference.run();
        ModuleHook prev = unit.hook();
        unit.setHook(chain(prev, null, out -> store(target, out, row[0], idx.length)));
        try {
            sweep(data, idx, row);
        } finally {
            unit.setHook(prev);
        }
        quantized.run();
        Module ex = extraPath == null ? null : model.module(extraPath);
        ModuleHook prevEx = ex == null ? null : ex.hook();
        unit.setHook(chain(prev, in -> store(input, in, row[0], idx.length), null));
        if (ex != null) {
            ex.setHook(extraInput ? chain(prevEx, in -> store(extra, in, row[0], idx.length), null)
                    : chain(prevEx, null, out -> store(extra, out, row[0], idx.length)));
        }
        try {
            sweep(data, idx, row);
        } finally {
            unit.setHook(prev);
            if (ex != null) ex.setHook(prevEx);
        }
        return new Captured(input[0], extra[0], target[0]);
    }

    private static ModuleHook chain(ModuleHook prev, java.util.function.Consumer<INDArray> before,
                                    java.util.function.Consumer<INDArray> after) {
        return new ModuleHook() {
            @Override
            public void beforeForward(String p, INDArray in) {
                if (before != null) before.accept(in);
                if (prev != null) prev.beforeForward(p, in);
            }

            @Override
            public void afterForward(String p, INDArray out) {
                if (prev != null) prev.afterForward(p, out);
                if (after != null) after.accept(out);
            }
        };
    }

    /** Forward passes over the samples, one time-step per pass so that per-step activation tables apply. */
    private void sweep(CalibrationStore data, int[] idx, int[] row) {
        int at = 0;
        while (at < idx.length) {
            long t = data.timestep(idx[at]);
            int end = at;
            while (end < idx.length && end - at < batch && data.timestep(idx[end]) == t) end++;
            int[] part = java.util.Arrays.copyOfRange(idx, at, end);
            INDArray x = data.x(part);
            if (x.dataType() != model.dtype()) x = x.castTo(model.dtype());
            row[0] = at;
            if (context != null) context.set(t);
            try {
                model.forward(x, data.timesteps(part), Nd4j.create(model.dtype(), x.shape()));
            } finally {
                if (context != null) context.clear();
            }
            at = end;
        }
    }

    private static void store(INDArray[] holder, INDArray batch, int at, int total) {
        if (holder[0] == null) {
            long[] shape = batch.shape().clone();
            shape[0] = total;
            holder[0] = Nd4j.create(batch.dataType(), shape);
        }
        holder[0].get(NDArrayIndex.interval(at, at + batch.size(0))).assign(batch);
    }
}
