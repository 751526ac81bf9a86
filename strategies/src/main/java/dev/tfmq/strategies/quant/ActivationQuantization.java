package dev.tfmq.strategies.quant;

import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.unet.AttentionBlock;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.model.unet.UNetBlock;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-tensor activation quantization through module hooks: the input of every quantized conv/linear, the
 * attention q/k/v projections' outputs and the softmax probabilities (method spec §5.1). Parameters come from each
 * site's {@link ActivationTable}, per time-step where FSC calibrated them, read against the {@link TimestepContext}.
 *
 * <p>Shared inputs: the hooks quantize the live buffer in place, so layers that read the same buffer share one
 * site — every {@code time_emb_proj} reads the same SiLU(temb), and to_q/to_k/to_v read the same normalised
 * tensor. In the reference code each such layer has its own quantizer, but all of them are calibrated on identical
 * data and so get identical parameters; one site quantizing once is the same computation.
 *
 * <p>Layers whose input buffer is also used elsewhere after the layer ({@code conv_in}: the caller's sample; a
 * downsampler conv and a {@code conv_shortcut}: the skip/residual tensor) cannot have their input quantized in
 * place; asking for it is an error. §5.3 keeps all of them in full precision anyway.
 */
public final class ActivationQuantization {
    public static final String TIME_ACT = "time_embedding.act";

    private final UNet2DModel model;
    private final TimestepContext context;
    private final UnknownTimestepPolicy unknown;
    private final Map<String, ActivationSite> sites = new LinkedHashMap<>();
    /** module path → site quantizing that module's input (only for the owning module of a shared site). */
    private final Map<String, ActivationSite> inputOf = new HashMap<>();
    private final Map<String, ActivationSite> outputOf = new HashMap<>();
    private final Map<String, ActivationSite> softmaxOf = new HashMap<>();
    private final List<Module> hooked = new ArrayList<>();
    private final List<AttentionBlock> probsHooked = new ArrayList<>();
    private boolean enabled = true;
    private ActivationCollector collector;

    public ActivationQuantization(UNet2DModel model, LayerPolicy policy, BitWidths bits, TimestepContext context,
                                  UnknownTimestepPolicy unknown) {
        if (!bits.quantizesActivations()) {
            throw new IllegalArgumentException("bit setting " + bits + " keeps activations in full precision");
        }
        this.model = model;
        this.context = context;
        this.unknown = unknown;
        String firstProj = model.resnets().get(0).timeEmbProj().path();
        Map<String, String> qkvOwner = new HashMap<>();
        for (AttentionBlock a : attentions()) {
            String owner = null;
            for (Linear l : List.of(a.toQ(), a.toK(), a.toV())) {
                if (policy.quantizesInput(l.path())) {
                    if (owner == null) owner = l.path();
                    qkvOwner.put(l.path(), owner);
                }
            }
        }
        for (Module m : model.modules().values()) {
            if (m.kind() != ModuleKind.CONV && m.kind() != ModuleKind.LINEAR) continue;
            String p = m.path();
            if (!policy.quantizesInput(p)) continue;
            if (p.equals("conv_in") || p.contains(".downsamplers.") || p.endsWith(".conv_shortcut")) {
                throw new IllegalArgumentException("layer '" + p + "': its input buffer is reused after the layer "
                        + "(sample, skip or residual tensor), so it cannot be activation-quantized in place; keep it in "
                        + "full precision (keep-fp) or list it under fp-inputs");
            }
            if (p.endsWith(".time_emb_proj")) {
                ActivationSite s = sites.computeIfAbsent(TIME_ACT,
                        k -> new ActivationSite(k, ActivationSite.Kind.INPUT, true, bits.activation()));
                inputOf.put(firstProj, s);
            } else if (qkvOwner.containsKey(p)) {
                String owner = qkvOwner.get(p);
                String attn = owner.substring(0, owner.lastIndexOf('.'));
                ActivationSite s = sites.computeIfAbsent(attn + ".qkv_in",
                        k -> new ActivationSite(k, ActivationSite.Kind.INPUT, false, bits.activation()));
                inputOf.put(owner, s);
            } else {
                ActivationSite s = new ActivationSite(p, ActivationSite.Kind.INPUT, model.isTemporal(p), bits.activation());
                sites.put(p, s);
                inputOf.put(p, s);
            }
        }
        if (!inputOf.containsKey(firstProj) && sites.containsKey(TIME_ACT)) {
            throw new IllegalStateException("the first time_emb_proj '" + firstProj + "' must quantize the shared SiLU(temb)");
        }
        for (AttentionBlock a : attentions()) {
            if (!policy.quantizes(a.toQ().path())) continue;
            for (Linear l : List.of(a.toQ(), a.toK(), a.toV())) {
                ActivationSite s = new ActivationSite(l.path() + ":out", ActivationSite.Kind.OUTPUT, false, bits.activation());
                sites.put(s.key(), s);
                outputOf.put(l.path(), s);
            }
            ActivationSite sm = new ActivationSite(a.path() + ".softmax", ActivationSite.Kind.SOFTMAX, false, bits.softmax());
            sites.put(sm.key(), sm);
            softmaxOf.put(a.path(), sm);
        }
    }

    private List<AttentionBlock> attentions() {
        List<AttentionBlock> out = new ArrayList<>();
        List<UNetBlock> blocks = new ArrayList<>(model.downBlocks());
        blocks.add(model.midBlock());
        blocks.addAll(model.upBlocks());
        for (UNetBlock b : blocks) out.addAll(b.attentions());
        return out;
    }

    public Map<String, ActivationSite> sites() { return Collections.unmodifiableMap(sites); }

    public ActivationSite site(String key) {
        ActivationSite s = sites.get(key);
        if (s == null) throw new IllegalArgumentException("no activation site '" + key + "'");
        return s;
    }

    public TimestepContext context() { return context; }

    public UnknownTimestepPolicy unknownTimestepPolicy() { return unknown; }

    /** Off: activations pass through unchanged (weight-only phases and full-precision references). */
    public void setEnabled(boolean on) { this.enabled = on; }

    public boolean enabled() { return enabled; }

    public void setCollector(ActivationCollector c) { this.collector = c; }

    /** Installs the hooks on the model (replacing any hooks on those modules). */
    public void install() {
        uninstall();
        Map<String, Module> modules = model.modules();
        java.util.Set<String> paths = new java.util.LinkedHashSet<>(inputOf.keySet());
        paths.addAll(outputOf.keySet());
        for (String p : paths) {
            ActivationSite in = inputOf.get(p);
            ActivationSite out = outputOf.get(p);
            Module m = modules.get(p);
            m.setHook(new ModuleHook() {
                @Override
                public void beforeForward(String path, INDArray input) {
                    if (in != null) process(in, input);
                }

                @Override
                public void afterForward(String path, INDArray output) {
                    if (out != null) process(out, output);
                }
            });
            hooked.add(m);
        }
        for (AttentionBlock a : attentions()) {
            ActivationSite sm = softmaxOf.get(a.path());
            if (sm == null) continue;
            a.setProbsHook(new ModuleHook() {
                @Override
                public void afterForward(String path, INDArray probs) { process(sm, probs); }
            });
            probsHooked.add(a);
        }
    }

    public void uninstall() {
        for (Module m : hooked) m.setHook(null);
        for (AttentionBlock a : probsHooked) a.setProbsHook(null);
        hooked.clear();
        probsHooked.clear();
    }

    private void process(ActivationSite s, INDArray x) {
        if (!enabled) return;
        if (collector != null && collector.collects(s)) {
            collector.observe(s, x, context);
            return;
        }
        quantize(s, x);
    }

    /** Fake-quantizes {@code x} in place with the site's grid for the current time-step. */
    public void quantize(ActivationSite s, INDArray x) {
        ActivationTable t = s.table();
        if (t.isEmpty()) {
            throw new IllegalStateException("activation quantizer '" + s.key() + "' is used before it was calibrated");
        }
        long step = t.isPerStep() ? context.current(s.key()) : -1;
        QuantGrid g = t.lookup(s.key(), step, unknown);
        UniformAffineQuantizer.fakeQuantInPlace(x, g.scale(0), g.zeroPoint(0), g.bits());
    }
}
