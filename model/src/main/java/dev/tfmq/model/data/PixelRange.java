package dev.tfmq.model.data;

/**
 * How float pixel values map to 8-bit intensities v ∈ {0..255}.
 * Reading: {@code ZERO_ONE}: x = v/255; {@code MINUS_ONE_ONE}: x = (v/255 − 0.5)/0.5 (torchvision ToTensor + Normalize(0.5, 0.5)).
 * Writing: u = x (ZERO_ONE) or (x + 1)/2 (MINUS_ONE_ONE), then v = ⌊clamp(255·u + 0.5, 0, 255)⌋ as torchvision's
 * {@code save_image}; NaN becomes 0. Reading then writing returns the original v exactly.
 */
public enum PixelRange {
    ZERO_ONE, MINUS_ONE_ONE;

    /** The float value of intensity v (computed in double, the caller rounds). */
    public double toFloat(int v) {
        double u = v / 255.0;
        return this == ZERO_ONE ? u : (u - 0.5) / 0.5;
    }

    /** The 8-bit intensity of float value x. */
    public int toByte(double x) {
        double u = this == ZERO_ONE ? x : (x + 1) / 2;
        double s = u * 255 + 0.5;
        if (!(s > 0)) return 0;  // also NaN
        if (s >= 255) return 255;
        return (int) s;
    }
}
