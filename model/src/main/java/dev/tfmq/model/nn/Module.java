package dev.tfmq.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A named piece of the network: its checkpoint path, kind, parameters and an optional hook. */
public abstract class Module {
    private final String path;
    private final ModuleKind kind;
    private ModuleHook hook;

    protected Module(String path, ModuleKind kind) {
        this.path = path;
        this.kind = kind;
    }

    /** Checkpoint path, e.g. {@code down_blocks.1.resnets.0.time_emb_proj}. */
    public String path() { return path; }

    public ModuleKind kind() { return kind; }

    public ModuleHook hook() { return hook; }

    /** Installs (or with null removes) this module's hook. */
    public void setHook(ModuleHook hook) { this.hook = hook; }

    /** Parameters owned directly by this module, keyed by their full checkpoint name. */
    public Map<String, INDArray> parameters() { return Collections.emptyMap(); }

    /** Multiply-accumulate count per image for the given input spatial size (0 for modules without weights). */
    public long macsPerImage() { return 0; }

    protected final void before(INDArray in) {
        if (hook != null) hook.beforeForward(path, in);
    }

    protected final void after(INDArray out) {
        if (hook != null) hook.afterForward(path, out);
    }

    protected static Map<String, INDArray> params(String prefix, INDArray weight, INDArray bias) {
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put(prefix + ".weight", weight);
        if (bias != null) m.put(prefix + ".bias", bias);
        return m;
    }

    @Override
    public String toString() {
        return path + " (" + kind.name().toLowerCase() + ")";
    }
}
