package dev.tfmq.model.io;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Element types that tfmq reads and writes in safetensors and .npy files.
 *
 * <p>Half-precision types are widened to float32 in memory because ND4J computes 300-1000x slower in
 * fp16/bf16 than in fp32 on these machines; they keep their on-disk identity so a round trip writes them back.
 */
public enum DType {
    F64("F64", "f8", 8, DataType.DOUBLE),
    F32("F32", "f4", 4, DataType.FLOAT),
    F16("F16", "f2", 2, DataType.FLOAT),
    BF16("BF16", null, 2, DataType.FLOAT),
    I64("I64", "i8", 8, DataType.LONG),
    I32("I32", "i4", 4, DataType.INT),
    I16("I16", "i2", 2, DataType.SHORT),
    I8("I8", "i1", 1, DataType.BYTE),
    U8("U8", "u1", 1, DataType.UBYTE),
    BOOL("BOOL", "b1", 1, DataType.BOOL);

    private final String safetensorsName;
    private final String npyKind;
    private final int bytes;
    private final DataType memoryType;

    DType(String safetensorsName, String npyKind, int bytes, DataType memoryType) {
        this.safetensorsName = safetensorsName;
        this.npyKind = npyKind;
        this.bytes = bytes;
        this.memoryType = memoryType;
    }

    public String safetensorsName() { return safetensorsName; }

    /** numpy kind+size code without byte order ("f4"), or null when numpy has no such type. */
    public String npyKind() { return npyKind; }

    public int bytes() { return bytes; }

    /** The ND4J type the values live in after reading. */
    public DataType memoryType() { return memoryType; }

    public static DType fromSafetensors(String name) {
        for (DType d : values()) {
            if (d.safetensorsName.equals(name)) return d;
        }
        return null;
    }

    public static DType fromNpyKind(String kind) {
        for (DType d : values()) {
            if (kind.equals(d.npyKind)) return d;
        }
        return null;
    }

    /** The on-disk type that represents an ND4J array without loss. */
    public static DType of(DataType t) {
        switch (t) {
            case DOUBLE: return F64;
            case FLOAT: return F32;
            case HALF: return F16;
            case BFLOAT16: return BF16;
            case LONG: return I64;
            case INT: return I32;
            case SHORT: return I16;
            case BYTE: return I8;
            case UBYTE: return U8;
            case BOOL: return BOOL;
            default: throw new IllegalArgumentException("no file representation for ND4J data type " + t);
        }
    }
}
