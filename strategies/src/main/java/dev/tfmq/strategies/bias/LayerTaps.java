package dev.tfmq.strategies.bias;

import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.FloatAccess;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Output moments of chosen conv/linear layers, accumulated into one of several slots (a slot per sampling step,
 * or a single one), through hooks chained behind whatever hooks the layers already carry: the moments are those
 * of the tensor the rest of the network reads, after an output quantizer (attention q/k/v) has run. Optionally
 * also the batch sums of each layer's input before and after the layer's own input quantizer, for
 * {@link OutputBiasProbe}'s split of a layer's own shift into weight rounding and activation quantization.
 * {@link #close} puts the previous hooks back.
 */
final class LayerTaps implements AutoCloseable {
    private final UNet2DModel model;
    private final Map<String, Module> layers = new LinkedHashMap<>();
    private final Map<String, ModuleHook> previous = new LinkedHashMap<>();
    private final Map<String, ChannelMoments[]> moments = new LinkedHashMap<>();
    private final Map<String, InputSums> inputs = new LinkedHashMap<>();
    private final List<String> order = new ArrayList<>();
    /** The input buffer each layer read in its first forward pass (see {@link #parallelGroups}). */
    private final Map<String, INDArray> firstInput = new java.util.HashMap<>();
    private final int slots;
    private int slot = -1;
    /** The input buffer the last tapped layer read, and its sums before quantization (see {@link #beforeLayer}). */
    private INDArray lastInput;
    private double[] lastRawSum;

    LayerTaps(UNet2DModel model, Collection<String> paths, int slots, boolean withInputs) {
        if (slots < 1) throw new IllegalArgumentException("layer taps need at least one slot, got " + slots);
        this.model = model;
        this.slots = slots;
        for (String p : paths) {
            Module m = model.module(p);
            int channels = OutputChannels.of(m);
            ChannelMoments[] perSlot = new ChannelMoments[slots];
            for (int k = 0; k < slots; k++) perSlot[k] = new ChannelMoments(channels);
            layers.put(p, m);
            moments.put(p, perSlot);
            if (withInputs) inputs.put(p, new InputSums());
        }
        for (Module m : layers.values()) {
            ModuleHook prev = m.hook();
            previous.put(m.path(), prev);
            m.setHook(tap(m.path(), prev));
        }
    }

    /** Where the next forward passes accumulate. */
    void setSlot(int k) {
        if (k < 0 || k >= slots) throw new IllegalArgumentException("slot " + k + " outside [0, " + slots + ")");
        slot = k;
        lastInput = null;
    }

    ChannelMoments moments(String path, int k) {
        ChannelMoments[] m = moments.get(path);
        if (m == null) throw new IllegalArgumentException("layer '" + path + "' is not tapped");
        return m[k];
    }

    /** All slots of one layer merged. */
    ChannelMoments pooled(String path) {
        ChannelMoments all = new ChannelMoments(moments(path, 0).channels());
        for (ChannelMoments m : moments.get(path)) all.merge(m);
        return all;
    }

    InputSums inputs(String path) {
        InputSums s = inputs.get(path);
        if (s == null) throw new IllegalArgumentException("inputs of layer '" + path + "' are not tapped");
        return s;
    }

    /** The tapped layers in the order their outputs were first seen (forward order). */
    List<String> forwardOrder() { return Collections.unmodifiableList(order); }

    /**
     * The forward order cut into runs of consecutive layers that read the very same input buffer (to_q, to_k,
     * to_v): none of them can depend on another's output. A reshaped view is a different object, so sharing is
     * only ever missed, never invented.
     */
    List<List<String>> parallelGroups() {
        List<List<String>> groups = new ArrayList<>();
        for (String p : order) {
            List<String> last = groups.isEmpty() ? null : groups.get(groups.size() - 1);
            if (last != null && firstInput.get(last.get(0)) == firstInput.get(p)) last.add(p);
            else groups.add(new ArrayList<>(List.of(p)));
        }
        return groups;
    }

    private ModuleHook tap(String path, ModuleHook prev) {
        return new ModuleHook() {
            @Override
            public void beforeForward(String p, INDArray in) {
                beforeLayer(path, prev, p, in);
            }

            @Override
            public void afterForward(String p, INDArray out) {
                if (prev != null) prev.afterForward(p, out);
                if (slot < 0) throw new IllegalStateException("layer taps: no slot set before the forward pass");
                if (!order.contains(path)) order.add(path);
                moments.get(path)[slot].add(out, model.channelsLast());
            }
        };
    }

    /**
     * Input sums before and after the layer's own input quantizer. Layers that read one shared buffer (to_q, to_k,
     * to_v; every time_emb_proj) have it quantized in place by the first of them, so a later one sees it already
     * quantized: when a layer's input is the very buffer the previous tapped layer read, its unquantized sums are
     * that layer's.
     */
    private void beforeLayer(String path, ModuleHook prev, String p, INDArray in) {
        firstInput.putIfAbsent(path, in);
        InputSums s = inputs.get(path);
        if (s == null) {
            if (prev != null) prev.beforeForward(p, in);
            return;
        }
        if (model.channelsLast()) {
            throw new IllegalStateException("input taps need a channel-first pass (UNet2DModel.setChannelsLast(false))");
        }
        double[] raw = in == lastInput ? lastRawSum : InputSums.batchSum(in);
        if (prev != null) prev.beforeForward(p, in);
        double[] quantized = InputSums.batchSum(in);
        s.add(in, raw, quantized);
        lastInput = in;
        lastRawSum = raw;
    }

    @Override
    public void close() {
        for (Map.Entry<String, ModuleHook> e : previous.entrySet()) layers.get(e.getKey()).setHook(e.getValue());
    }

    /** Sums over the batch of a layer's input image ([C, H, W], [C, T] or [C]), unquantized and as quantized. */
    static final class InputSums {
        private long[] imageShape;
        private double[] raw;
        private double[] quantized;
        private long images;

        void add(INDArray in, double[] rawSum, double[] quantizedSum) {
            long[] shape = java.util.Arrays.copyOfRange(in.shape(), 1, in.rank());
            if (imageShape == null) {
                imageShape = shape;
                raw = new double[rawSum.length];
                quantized = new double[rawSum.length];
            } else if (!java.util.Arrays.equals(imageShape, shape)) {
                throw new IllegalArgumentException("input image shape changed from " + java.util.Arrays.toString(imageShape)
                        + " to " + java.util.Arrays.toString(shape));
            }
            for (int i = 0; i < raw.length; i++) {
                raw[i] += rawSum[i];
                quantized[i] += quantizedSum[i];
            }
            images += in.size(0);
        }

        long[] imageShape() { return imageShape.clone(); }

        double[] rawMean() { return scaled(raw); }

        double[] quantizedMean() { return scaled(quantized); }

        private double[] scaled(double[] s) {
            if (images == 0) throw new IllegalStateException("no input was seen");
            double[] m = new double[s.length];
            for (int i = 0; i < m.length; i++) m[i] = s[i] / images;
            return m;
        }

        static double[] batchSum(INDArray in) {
            FloatAccess f = FloatAccess.of(FloatAccess.isContiguousC(in) ? in : in.dup('c'));
            int per = Math.toIntExact(f.length() / in.size(0));
            double[] s = new double[per];
            for (long b = 0, i = 0; b < in.size(0); b++) {
                for (int j = 0; j < per; j++, i++) s[j] += f.get(i);
            }
            return s;
        }
    }
}
