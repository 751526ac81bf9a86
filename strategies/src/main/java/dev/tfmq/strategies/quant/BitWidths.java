package dev.tfmq.strategies.quant;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bit setting: weight bits (2..8), activation bits (4..16, or 32 = activations stay in full precision) and the
 * softmax-output bits (the attention probabilities, unsigned; TFMQ keeps 8, Q-Diffusion uses 16 for SD).
 */
public record BitWidths(int weight, int activation, int softmax) {
    public static final int FULL_PRECISION = 32;
    public static final BitWidths W4A8 = new BitWidths(4, 8, 8);
    public static final BitWidths W8A8 = new BitWidths(8, 8, 8);
    public static final BitWidths W4A32 = new BitWidths(4, FULL_PRECISION, 8);

    private static final Pattern NAME = Pattern.compile("W(\\d+)A(\\d+)");

    public BitWidths {
        if (weight < 2 || weight > 8) {
            throw new IllegalArgumentException("weight bits must be in [2, 8], got " + weight);
        }
        if (activation != FULL_PRECISION && (activation < 4 || activation > 16)) {
            throw new IllegalArgumentException("activation bits must be in [4, 16] or 32 (full precision), got " + activation);
        }
        if (softmax < 4 || softmax > 16) {
            throw new IllegalArgumentException("softmax bits must be in [4, 16], got " + softmax);
        }
    }

    /** Parses "W4A8" (softmax 8 bit) or "W4A8S16". */
    public static BitWidths parse(String s) {
        String u = s.trim().toUpperCase(Locale.ROOT);
        int softmax = 8;
        int at = u.indexOf('S');
        String main = u;
        if (at > 0) {
            try {
                softmax = Integer.parseInt(u.substring(at + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bit setting '" + s + "': softmax bits after 'S' are not a number");
            }
            main = u.substring(0, at);
        }
        Matcher m = NAME.matcher(main);
        if (!m.matches()) {
            throw new IllegalArgumentException("bit setting '" + s + "' is not of the form W<bits>A<bits> (e.g. W4A8, W8A8, W4A32)");
        }
        return new BitWidths(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), softmax);
    }

    public boolean quantizesActivations() { return activation != FULL_PRECISION; }

    public String name() {
        return "W" + weight + "A" + activation + (softmax != 8 ? "S" + softmax : "");
    }

    @Override
    public String toString() { return name(); }
}
