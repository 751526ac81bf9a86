package dev.tfmq.model.unet;

import dev.tfmq.model.nn.Module;

import java.util.ArrayList;
import java.util.List;

/** A down, mid or up block: resnets each optionally followed by attention, then an optional resampler. */
public final class UNetBlock {
    final String path;
    final String type;
    final List<ResnetBlock2D> resnets = new ArrayList<>();
    final List<AttentionBlock> attentions = new ArrayList<>();
    Downsample2D downsampler;
    Upsample2D upsampler;

    UNetBlock(String path, String type) {
        this.path = path;
        this.type = type;
    }

    public String path() { return path; }

    /** The diffusers class name, e.g. AttnDownBlock2D. */
    public String type() { return type; }

    public List<ResnetBlock2D> resnets() { return List.copyOf(resnets); }

    public List<AttentionBlock> attentions() { return List.copyOf(attentions); }

    /** Modules in diffusers' registration order: attentions, resnets, then resamplers (as in named_modules()). */
    List<Module> modules() {
        List<Module> out = new ArrayList<>();
        // diffusers' attention blocks (and the mid block) assign self.attentions before self.resnets
        addAttentions(out);
        addResnets(out);
        if (downsampler != null) {
            out.add(downsampler);
            out.addAll(downsampler.children());
        }
        if (upsampler != null) {
            out.add(upsampler);
            out.addAll(upsampler.children());
        }
        return out;
    }

    private void addResnets(List<Module> out) {
        for (ResnetBlock2D r : resnets) {
            out.add(r);
            out.addAll(r.children());
        }
    }

    private void addAttentions(List<Module> out) {
        for (AttentionBlock a : attentions) {
            out.add(a);
            out.addAll(a.children());
        }
    }
}
