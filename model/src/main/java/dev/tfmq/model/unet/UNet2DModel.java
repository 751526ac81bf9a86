package dev.tfmq.model.unet;

import dev.tfmq.model.Denoiser;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.SafeTensors;
import dev.tfmq.model.nn.BufferPool;
import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.FusedKernels;
import dev.tfmq.model.nn.GroupNorm;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.nn.Ops;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * diffusers' {@code UNet2DModel} on ND4J, built from {@code config.json} and the safetensors weights.
 *
 * <p>Every module is reachable by its checkpoint path ({@link #modules()}, registration order) with its kind and
 * whether it belongs to the Temporal Information Block ({@link #isTemporal}). Activation buffers are pooled per
 * batch size, so repeated forward passes at one batch size allocate no tensor memory. Not thread-safe: one
 * instance per worker.
 */
public final class UNet2DModel implements Denoiser {
    private final UNet2DConfig config;
    private final DataType dtype;
    private final BufferPool pool;
    private final Conv2d convIn;
    private final TimeEmbedding timeEmbedding;
    private final List<UNetBlock> downBlocks = new ArrayList<>();
    private final UNetBlock midBlock;
    private final List<UNetBlock> upBlocks = new ArrayList<>();
    private final GroupNorm convNormOut;
    private final Conv2d convOut;
    private final Map<String, Module> modules = new LinkedHashMap<>();
    private final List<ResnetBlock2D> resnetsInOrder = new ArrayList<>();
    private TemporalFeatureSource temporalSource;
    private boolean channelsLastAllowed = true;

    private UNet2DModel(UNet2DConfig c, Weights w, DataType dtype) throws FormatException {
        this.config = c;
        this.dtype = dtype;
        this.pool = new BufferPool(dtype);
        int[] ch = c.blockOutChannels();
        long size = c.sampleSize() == null ? 32 : c.sampleSize();
        int temb = c.timeEmbedDim();
        boolean shift = c.resnetTimeScaleShift().equals("scale_shift");
        convIn = new Conv2d("conv_in", w.take("conv_in.weight", ch[0], c.inChannels(), 3, 3),
                w.take("conv_in.bias", ch[0]), 1, 1, size, size);
        timeEmbedding = new TimeEmbedding(w, ch[0], temb, c.flipSinToCos(), c.freqShift(), pool);

        long[] sizes = new long[ch.length + 1];
        sizes[0] = size;
        int out = ch[0];
        for (int i = 0; i < ch.length; i++) {
            int in = out;
            out = ch[i];
            boolean last = i == ch.length - 1;
            String type = c.downBlockTypes().get(i);
            UNetBlock block = new UNetBlock("down_blocks." + i, type);
            for (int j = 0; j < c.layersPerBlock(); j++) {
                String p = block.path + ".resnets." + j;
                block.resnets.add(new ResnetBlock2D(p, w, j == 0 ? in : out, out, temb, c.resnetGroups(out),
                        c.normEps(), shift, 1.0, sizes[i], pool));
                if (type.startsWith("Attn")) {
                    block.attentions.add(new AttentionBlock(block.path + ".attentions." + j, w, out,
                            c.attentionHeadDim(), c.resnetGroups(out), c.normEps(), 1.0, sizes[i], pool));
                }
            }
            sizes[i + 1] = sizes[i];
            if (!last) {
                long next = c.downsamplePadding() == 0 ? (sizes[i] - 2) / 2 + 1 : (sizes[i] + 2L * c.downsamplePadding() - 3) / 2 + 1;
                block.downsampler = new Downsample2D(block.path + ".downsamplers.0", w, out, c.downsamplePadding(), next, pool);
                sizes[i + 1] = next;
            }
            downBlocks.add(block);
        }

        int top = ch[ch.length - 1];
        long midSize = sizes[ch.length - 1];
        midBlock = new UNetBlock("mid_block", "UNetMidBlock2D");
        int midGroups = c.resnetGroups(top);
        midBlock.resnets.add(new ResnetBlock2D("mid_block.resnets.0", w, top, top, temb, midGroups, c.normEps(), shift,
                c.midBlockScaleFactor(), midSize, pool));
        if (c.addAttention()) {
            Integer attnGroups = c.attnNormNumGroups() != null ? c.attnNormNumGroups() : (shift ? null : midGroups);
            midBlock.attentions.add(new AttentionBlock("mid_block.attentions.0", w, top, c.attentionHeadDim(), attnGroups,
                    c.normEps(), c.midBlockScaleFactor(), midSize, pool));
        }
        midBlock.resnets.add(new ResnetBlock2D("mid_block.resnets.1", w, top, top, temb, midGroups, c.normEps(), shift,
                c.midBlockScaleFactor(), midSize, pool));

        int outCh = ch[ch.length - 1];
        long upSize = midSize;
        for (int i = 0; i < ch.length; i++) {
            int prev = outCh;
            outCh = ch[ch.length - 1 - i];
            int in = ch[Math.max(0, ch.length - 2 - i)];
            boolean last = i == ch.length - 1;
            String type = c.upBlockTypes().get(i);
            UNetBlock block = new UNetBlock("up_blocks." + i, type);
            int layers = c.layersPerBlock() + 1;
            for (int j = 0; j < layers; j++) {
                int skip = j == layers - 1 ? in : outCh;
                int resIn = j == 0 ? prev : outCh;
                String p = block.path + ".resnets." + j;
                block.resnets.add(new ResnetBlock2D(p, w, resIn + skip, outCh, temb, c.resnetGroups(outCh),
                        c.normEps(), shift, 1.0, upSize, pool));
                if (type.startsWith("Attn")) {
                    block.attentions.add(new AttentionBlock(block.path + ".attentions." + j, w, outCh,
                            c.attentionHeadDim(), c.resnetGroups(outCh), c.normEps(), 1.0, upSize, pool));
                }
            }
            if (!last) {
                upSize = upSize * 2;
                block.upsampler = new Upsample2D(block.path + ".upsamplers.0", w, outCh, upSize, pool);
            }
            upBlocks.add(block);
        }
        int outGroups = c.normNumGroups() != null ? c.normNumGroups() : Math.min(ch[0] / 4, 32);
        convNormOut = new GroupNorm("conv_norm_out", w.take("conv_norm_out.weight", ch[0]), w.take("conv_norm_out.bias", ch[0]),
                outGroups, c.normEps(), pool);
        convOut = new Conv2d("conv_out", w.take("conv_out.weight", c.outChannels(), ch[0], 3, 3),
                w.take("conv_out.bias", c.outChannels()), 1, 1, size, size);
        w.requireAllUsed();
        register();
    }

    /** Loads a diffusers model folder ({@code config.json} + {@code diffusion_pytorch_model.safetensors}) in float32. */
    public static UNet2DModel load(Path dir) throws IOException {
        return load(dir, DataType.FLOAT);
    }

    /** Loads in float32 or float64 (the latter for exactness checks; far slower). */
    public static UNet2DModel load(Path dir, DataType dtype) throws IOException {
        if (dtype != DataType.FLOAT && dtype != DataType.DOUBLE) {
            throw new IllegalArgumentException("UNet2DModel runs in FLOAT or DOUBLE, not " + dtype);
        }
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new FormatException(dir, "no config.json in this model folder");
        Path st = dir.resolve("diffusion_pytorch_model.safetensors");
        if (!Files.isRegularFile(st)) {
            throw new FormatException(dir, "no diffusion_pytorch_model.safetensors in this model folder");
        }
        UNet2DConfig config = UNet2DConfig.read(cfg);
        SafeTensors tensors = SafeTensors.read(st);
        try {
            return new UNet2DModel(config, new Weights(st, tensors.tensors(), dtype), dtype);
        } catch (IllegalArgumentException e) {
            // a module refusing its configuration (e.g. a group count that does not divide its channels)
            throw new FormatException(cfg, e.getMessage());
        }
    }

    /** The architecture of {@code config} with seeded random weights (for benchmarks and tests). */
    public static UNet2DModel random(UNet2DConfig config, long seed, DataType dtype) {
        try {
            return new UNet2DModel(config, Weights.random(seed, dtype), dtype);
        } catch (FormatException e) {
            throw new IllegalStateException("random weights cannot be malformed", e);
        }
    }

    private void register() {
        add(convIn);
        modules.put("time_proj", new Module("time_proj", ModuleKind.TIME_PROJECTION) { });
        add(timeEmbedding);
        timeEmbedding.children().forEach(this::add);
        for (UNetBlock b : downBlocks) b.modules().forEach(this::add);
        for (UNetBlock b : upBlocks) b.modules().forEach(this::add);
        midBlock.modules().forEach(this::add);
        add(convNormOut);
        add(convOut);
        for (UNetBlock b : downBlocks) resnetsInOrder.addAll(b.resnets);
        resnetsInOrder.addAll(midBlock.resnets);
        for (UNetBlock b : upBlocks) resnetsInOrder.addAll(b.resnets);
    }

    private void add(Module m) {
        modules.put(m.path(), m);
    }

    public UNet2DConfig config() { return config; }

    public DataType dtype() { return dtype; }

    /** All modules by checkpoint path, in diffusers' registration order. */
    public Map<String, Module> modules() { return Collections.unmodifiableMap(modules); }

    public Module module(String path) {
        Module m = modules.get(path);
        if (m == null) throw new IllegalArgumentException("no module '" + path + "' in this UNet2DModel");
        return m;
    }

    /**
     * Whether a module belongs to the Temporal Information Block: the time-embedding linears and every
     * ResnetBlock2D's time_emb_proj — the layers that see only the time-step.
     */
    public boolean isTemporal(String path) {
        return path.equals("time_embedding.linear_1") || path.equals("time_embedding.linear_2")
                || path.endsWith(".time_emb_proj");
    }

    /** The TIB's linear layers in registration order. */
    public List<Linear> temporalModules() {
        List<Linear> out = new ArrayList<>();
        out.add(timeEmbedding.linear1);
        out.add(timeEmbedding.linear2);
        for (Module m : modules.values()) {
            if (m.path().endsWith(".time_emb_proj")) out.add((Linear) m);
        }
        return out;
    }

    public TimeEmbedding timeEmbedding() { return timeEmbedding; }

    public List<UNetBlock> downBlocks() { return List.copyOf(downBlocks); }

    public UNetBlock midBlock() { return midBlock; }

    public List<UNetBlock> upBlocks() { return List.copyOf(upBlocks); }

    /** ResnetBlock2Ds in forward order (down, mid, up). */
    public List<ResnetBlock2D> resnets() { return List.copyOf(resnetsInOrder); }

    public long parameterCount() {
        long n = 0;
        for (Module m : modules.values()) {
            for (INDArray p : m.parameters().values()) n += p.length();
        }
        return n;
    }

    /** Multiply-accumulates per image at the config's sample size (×2 for FLOPs). */
    public long macsPerImage() {
        long n = 0;
        for (Module m : modules.values()) {
            if (m.kind() == ModuleKind.CONV || m.kind() == ModuleKind.LINEAR) n += m.macsPerImage();
            if (m instanceof AttentionBlock a) n += a.macsPerImage() - 4 * a.toQ().macsPerImage();
        }
        return n;
    }

    /** Bytes of pooled activation buffers (grows once per new batch size). */
    public long bufferBytes() { return pool.bytes(); }

    public int bufferCount() { return pool.count(); }

    /**
     * Whether float32 passes may run channels-last (NHWC) inside the network, the fast layout for oneDNN's
     * convolutions; the input and output stay [B, C, H, W] either way. Hooks on spatial modules then see
     * channels-last tensors ([B, H, W, C], attention projections [B·T, C]). Code that reads spatial activations
     * by layout (reconstruction's capture of block inputs and outputs) switches it off. Returns the previous value.
     */
    public boolean setChannelsLast(boolean allowed) {
        boolean was = channelsLastAllowed;
        channelsLastAllowed = allowed;
        return was;
    }

    /** Whether the next forward pass runs channels-last. */
    public boolean channelsLast() {
        return channelsLastAllowed && dtype == DataType.FLOAT && FusedKernels.enabled();
    }

    /** Replaces the temporal-feature computation (null restores the model's own TIB). */
    public void setTemporalFeatureSource(TemporalFeatureSource source) { this.temporalSource = source; }

    /** The source installed by {@link #setTemporalFeatureSource}, or null when the model runs its own TIB. */
    public TemporalFeatureSource temporalFeatureSource() { return temporalSource; }

    /** Computes the temporal features for these time-steps with the model's own TIB. */
    public TemporalFeatures computeTemporalFeatures(long[] timesteps) {
        TemporalFeatures tf = temporalBuffers(timesteps);
        fillFromTib(tf);
        return tf;
    }

    /** Pooled, unfilled temporal-feature buffers for this batch of time-steps. */
    public TemporalFeatures temporalBuffers(long[] timesteps) {
        int b = timesteps.length;
        INDArray emb = pool.get("time_embedding:out", b, config.timeEmbedDim());
        Map<String, INDArray> proj = TemporalFeatures.newMap();
        for (ResnetBlock2D r : resnetsInOrder) {
            proj.put(r.timeEmbProj.path(), pool.get(r.timeEmbProj.path() + ":out", b, r.timeEmbProj.outFeatures()));
        }
        return new TemporalFeatures(timesteps.clone(), emb, proj);
    }

    /** Runs the model's own Temporal Information Block into {@code tf}. */
    public void fillFromTib(TemporalFeatures tf) {
        long[] t = tf.timesteps();
        timeEmbedding.forward(t, tf.embedding());
        INDArray act = pool.get("time_embedding:silu", t.length, config.timeEmbedDim());
        Ops.silu(tf.embedding(), act);
        for (ResnetBlock2D r : resnetsInOrder) {
            r.timeEmbProj.forwardRows(act, tf.projection(r.timeEmbProj.path()));
        }
    }

    /**
     * Why an input of this shape cannot run through this model, or null when it can: [B, C, H, W] with B >= 1,
     * C = {@code in_channels} and H, W sizes the down and up paths agree on ({@link UNet2DConfig#sizeProblem}).
     * Checked on every {@link #forward} before any native call (a wrong size used to crash inside oneDNN).
     */
    public String inputProblem(long[] shape) {
        String s = java.util.Arrays.toString(shape);
        if (shape.length != 4) return "has shape " + s + ", expected [B, C, H, W]";
        if (shape[0] < 1) return "has shape " + s + ": the batch is empty";
        if (shape[1] != config.inChannels()) {
            return "has shape " + s + ": " + shape[1] + " channels, the model expects " + config.inChannels() + " (in_channels)";
        }
        for (int i = 2; i < 4; i++) {
            String p = config.sizeProblem(shape[i]);
            if (p != null) return "has shape " + s + ": " + (i == 2 ? "height " : "width ") + shape[i] + ": " + p;
        }
        return null;
    }

    @Override
    public void predict(INDArray sample, long[] timesteps, INDArray out) {
        forward(sample, timesteps, out);
    }

    /** Runs the UNet on [B, C, H, W] at one time-step per image; writes the prediction into {@code out}. */
    public void forward(INDArray sample, long[] timesteps, INDArray out) {
        String problem = inputProblem(sample.shape());
        if (problem != null) throw new IllegalArgumentException("sample " + problem);
        long b = sample.size(0);
        if (timesteps.length != b) {
            throw new IllegalArgumentException(timesteps.length + " time-steps for a batch of " + b);
        }
        long[] want = {b, config.outChannels(), sample.size(2), sample.size(3)};
        if (!java.util.Arrays.equals(out.shape(), want)) {
            throw new IllegalArgumentException("output buffer has shape " + java.util.Arrays.toString(out.shape())
                    + ", the prediction has " + java.util.Arrays.toString(want));
        }
        TemporalFeatures tf = temporalBuffers(timesteps);
        if (temporalSource == null) fillFromTib(tf);
        else temporalSource.fill(this, tf);

        INDArray x = sample;
        if (sample.dataType() != dtype) {
            x = pool.get("input", sample.shape());
            x.assign(sample);
        }
        if (config.centerInputSample()) {
            INDArray centred = pool.get("input:centred", sample.shape());
            centred.assign(x).muli(2.0).subi(1.0);
            x = centred;
        }
        if (channelsLast()) {
            forwardChannelsLast(x, tf, out);
            return;
        }
        long h = x.size(2);
        long w = x.size(3);
        int[] ch = config.blockOutChannels();
        INDArray hs = pool.get("conv_in:out", b, ch[0], h, w);
        convIn.forward(x, hs);
        List<INDArray> skips = new ArrayList<>();
        skips.add(hs);
        for (UNetBlock block : downBlocks) {
            for (int j = 0; j < block.resnets.size(); j++) {
                hs = resnetThenAttention(block, j, hs, tf);
                skips.add(hs);
            }
            if (block.downsampler != null) {
                long nh = block.downsampler.outSize(h);
                long nw = block.downsampler.outSize(w);
                INDArray o = pool.get(block.downsampler.path() + ":out", b, hs.size(1), nh, nw);
                block.downsampler.forward(hs, o);
                hs = o;
                h = nh;
                w = nw;
                skips.add(hs);
            }
        }
        hs = runMid(hs, tf, b, h, w);
        for (UNetBlock block : upBlocks) {
            for (int j = 0; j < block.resnets.size(); j++) {
                ResnetBlock2D r = block.resnets.get(j);
                INDArray skip = skips.remove(skips.size() - 1);
                long c1 = hs.size(1);
                long c2 = skip.size(1);
                INDArray cat = pool.get(r.path() + ":cat", b, c1 + c2, h, w);
                cat.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c1)).assign(hs);
                cat.get(NDArrayIndex.all(), NDArrayIndex.interval(c1, c1 + c2)).assign(skip);
                hs = resnetThenAttention(block, j, cat, tf);
            }
            if (block.upsampler != null) {
                INDArray o = pool.get(block.upsampler.path() + ":out", b, hs.size(1), 2 * h, 2 * w);
                block.upsampler.forward(hs, o);
                hs = o;
                h *= 2;
                w *= 2;
            }
        }
        INDArray normed = pool.get("conv_norm_out:out", hs.shape());
        convNormOut.forward(hs, normed, true);
        if (out.dataType() == dtype) {
            convOut.forward(normed, out);
        } else {
            INDArray o = pool.get("conv_out:out", out.shape());
            convOut.forward(normed, o);
            out.assign(o);
        }
    }

    /** {@link #forward} with every activation in [B, H, W, C]; only the input and output are transposed. */
    private void forwardChannelsLast(INDArray x, TemporalFeatures tf, INDArray out) {
        long b = x.size(0);
        long h = x.size(2);
        long w = x.size(3);
        int[] ch = config.blockOutChannels();
        INDArray xl = pool.get("input:nhwc", b, h, w, x.size(1));
        xl.assign(x.permute(0, 2, 3, 1));
        INDArray hs = pool.get("conv_in:outNhwc", b, h, w, ch[0]);
        convIn.forwardChannelsLast(xl, hs);
        List<INDArray> skips = new ArrayList<>();
        skips.add(hs);
        for (UNetBlock block : downBlocks) {
            for (int j = 0; j < block.resnets.size(); j++) {
                hs = resnetThenAttentionChannelsLast(block.resnets.get(j),
                        block.attentions.isEmpty() ? null : block.attentions.get(j), hs, tf);
                skips.add(hs);
            }
            if (block.downsampler != null) {
                long nh = block.downsampler.outSize(h);
                long nw = block.downsampler.outSize(w);
                INDArray o = pool.get(block.downsampler.path() + ":outNhwc", b, nh, nw, hs.size(3));
                block.downsampler.forwardChannelsLast(hs, o);
                hs = o;
                h = nh;
                w = nw;
                skips.add(hs);
            }
        }
        hs = resnetThenAttentionChannelsLast(midBlock.resnets.get(0),
                midBlock.attentions.isEmpty() ? null : midBlock.attentions.get(0), hs, tf);
        hs = resnetThenAttentionChannelsLast(midBlock.resnets.get(1), null, hs, tf);
        for (UNetBlock block : upBlocks) {
            for (int j = 0; j < block.resnets.size(); j++) {
                ResnetBlock2D r = block.resnets.get(j);
                INDArray skip = skips.remove(skips.size() - 1);
                long c1 = hs.size(3);
                long c2 = skip.size(3);
                INDArray cat = pool.get(r.path() + ":catNhwc", b, h, w, c1 + c2);
                cat.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, c1)).assign(hs);
                cat.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(c1, c1 + c2))
                        .assign(skip);
                hs = resnetThenAttentionChannelsLast(r, block.attentions.isEmpty() ? null : block.attentions.get(j), cat, tf);
            }
            if (block.upsampler != null) {
                INDArray o = pool.get(block.upsampler.path() + ":outNhwc", b, 2 * h, 2 * w, hs.size(3));
                block.upsampler.forwardChannelsLast(hs, o);
                hs = o;
                h *= 2;
                w *= 2;
            }
        }
        INDArray normed = pool.get("conv_norm_out:outNhwc", hs.shape());
        convNormOut.forwardChannelsLast(hs, normed, true, null, null, null);
        INDArray o = pool.get("conv_out:outNhwc", b, h, w, config.outChannels());
        convOut.forwardChannelsLast(normed, o);
        out.assign(o.permute(0, 3, 1, 2));
    }

    private INDArray resnetThenAttentionChannelsLast(ResnetBlock2D r, AttentionBlock a, INDArray in, TemporalFeatures tf) {
        INDArray o = pool.get(r.path() + ":outNhwc", in.size(0), in.size(1), in.size(2), r.outChannels());
        r.forwardChannelsLast(in, tf.projection(r.timeEmbProj.path()), o);
        if (a == null) return o;
        INDArray ao = pool.get(a.path() + ":outNhwc", o.shape());
        a.forwardChannelsLast(o, ao);
        return ao;
    }

    /** Resnet j of a block, then its attention if the block has one; returns the output buffer. */
    private INDArray resnetThenAttention(UNetBlock block, int j, INDArray in, TemporalFeatures tf) {
        ResnetBlock2D r = block.resnets.get(j);
        INDArray o = pool.get(r.path() + ":out", in.size(0), r.outChannels(), in.size(2), in.size(3));
        r.forward(in, tf.projection(r.timeEmbProj.path()), o);
        if (block.attentions.isEmpty()) return o;
        AttentionBlock a = block.attentions.get(j);
        INDArray ao = pool.get(a.path() + ":out", o.shape());
        a.forward(o, ao);
        return ao;
    }

    private INDArray runMid(INDArray hs, TemporalFeatures tf, long b, long h, long w) {
        ResnetBlock2D r0 = midBlock.resnets.get(0);
        INDArray o = pool.get(r0.path() + ":out", hs.shape());
        r0.forward(hs, tf.projection(r0.timeEmbProj.path()), o);
        hs = o;
        if (!midBlock.attentions.isEmpty()) {
            AttentionBlock a = midBlock.attentions.get(0);
            INDArray ao = pool.get(a.path() + ":out", hs.shape());
            a.forward(hs, ao);
            hs = ao;
        }
        ResnetBlock2D r1 = midBlock.resnets.get(1);
        INDArray o1 = pool.get(r1.path() + ":out", hs.shape());
        r1.forward(hs, tf.projection(r1.timeEmbProj.path()), o1);
        return o1;
    }
}
