package dev.tfmq.strategies.quant;

/**
 * Dense bit packing of integer codes, little-endian within each byte: with 4 bits two codes share a byte (low
 * nibble first), with 8 bits one code per byte, and other widths stream across byte boundaries.
 */
public final class CodePacking {
    private CodePacking() {}

    public static int packedLength(long count, int bits) {
        return Math.toIntExact((count * bits + 7) / 8);
    }

    public static byte[] pack(int[] codes, int bits) {
        UniformAffineQuantizer.checkBits(bits, "code packing");
        byte[] out = new byte[packedLength(codes.length, bits)];
        long bit = 0;
        int max = (1 << bits) - 1;
        for (int i = 0; i < codes.length; i++) {
            int c = codes[i];
            if (c < 0 || c > max) throw new IllegalArgumentException("code " + c + " at " + i + " does not fit " + bits + " bits");
            for (int b = 0; b < bits; b++, bit++) {
                if (((c >> b) & 1) != 0) out[(int) (bit >> 3)] |= (byte) (1 << (bit & 7));
            }
        }
        return out;
    }

    public static int[] unpack(byte[] packed, int bits, int count) {
        UniformAffineQuantizer.checkBits(bits, "code unpacking");
        if (packed.length != packedLength(count, bits)) {
            throw new IllegalArgumentException(packed.length + " bytes cannot hold exactly " + count + " codes of " + bits
                    + " bits (expected " + packedLength(count, bits) + ")");
        }
        int[] out = new int[count];
        long bit = 0;
        for (int i = 0; i < count; i++) {
            int c = 0;
            for (int b = 0; b < bits; b++, bit++) {
                if ((packed[(int) (bit >> 3)] & (1 << (bit & 7))) != 0) c |= 1 << b;
            }
            out[i] = c;
        }
        return out;
    }
}
