package dev.tfmq.model.io;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Converts between raw file bytes and ND4J arrays, one element type at a time. */
final class TensorBytes {
    private TensorBytes() {}

    /** Builds a c-order array from {@code src} (positioned at the first byte, holding n elements). */
    static INDArray decode(ByteBuffer src, DType type, long[] shape, ByteOrder order) {
        long n = elementCount(shape);
        INDArray out = Nd4j.create(type.memoryType(), shape, 'c');
        if (n == 0) return out;
        ByteBuffer in = src.slice().order(order);
        if (type == DType.F16 || type == DType.BF16) {
            java.nio.FloatBuffer dst = out.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int i = 0; i < n; i++) {
                int bits = in.getShort(2 * i) & 0xffff;
                dst.put(i, type == DType.F16 ? halfToFloat(bits) : Float.intBitsToFloat(bits << 16));
            }
            return out;
        }
        ByteBuffer dst = out.data().asNio().order(ByteOrder.nativeOrder());
        int size = type.bytes();
        if (order == ByteOrder.nativeOrder() || size == 1) {
            ByteBuffer part = in.duplicate();
            part.limit((int) (n * size));
            dst.put(part);
            return out;
        }
        for (int i = 0; i < n; i++) {
            int at = i * size;
            switch (size) {
                case 2: dst.putShort(at, in.getShort(at)); break;
                case 4: dst.putInt(at, in.getInt(at)); break;
                case 8: dst.putLong(at, in.getLong(at)); break;
                default: throw new IllegalStateException("element size " + size);
            }
        }
        return out;
    }

    /** Little-endian bytes of {@code a} as {@code type} (c order). */
    static byte[] encode(INDArray a, DType type) {
        long n = a.length();
        if (n * type.bytes() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor of " + n + " elements is too large for one buffer");
        }
        if (n == 0) return new byte[0];
        ByteBuffer out = ByteBuffer.allocate((int) (n * type.bytes())).order(ByteOrder.LITTLE_ENDIAN);
        if (type == DType.F16 || type == DType.BF16) {
            INDArray f = a.castTo(DataType.FLOAT).dup('c');
            java.nio.FloatBuffer src = f.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int i = 0; i < n; i++) {
                float v = src.get(i);
                out.putShort((short) (type == DType.F16 ? floatToHalf(v) : floatToBfloat16(v)));
            }
            return out.array();
        }
        INDArray c = a.dataType() == type.memoryType() ? a.dup('c') : a.castTo(type.memoryType()).dup('c');
        ByteBuffer src = c.data().asNio().order(ByteOrder.nativeOrder());
        int size = type.bytes();
        for (int i = 0; i < n; i++) {
            int at = i * size;
            switch (size) {
                case 1: out.put(src.get(at)); break;
                case 2: out.putShort(src.getShort(at)); break;
                case 4: out.putInt(src.getInt(at)); break;
                case 8: out.putLong(src.getLong(at)); break;
                default: throw new IllegalStateException("element size " + size);
            }
        }
        return out.array();
    }

    static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    static float halfToFloat(int h) {
        int sign = (h >>> 15) & 1;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        float v;
        if (exp == 0) {
            v = (float) (mant * Math.pow(2, -24));
        } else if (exp == 31) {
            v = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else {
            v = Float.intBitsToFloat(((exp - 15 + 127) << 23) | (mant << 13));
        }
        return sign == 1 ? -v : v;
    }

    /** Round-to-nearest-even conversion, as numpy and PyTorch do. */
    static int floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return sign | 0x7c00 | (mant != 0 ? 0x200 : 0);
        }
        int e = exp - 127 + 15;
        if (e >= 31) {
            return sign | 0x7c00;
        }
        if (e <= 0) {
            if (e < -10) return sign;
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) == 1)) half++;
            return sign | half;
        }
        int half = (e << 10) | (mant >> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) half++;
        return sign | half;
    }

    static int floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (bits >>> 16) | 0x40;
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (bits + rounding) >>> 16;
    }
}
