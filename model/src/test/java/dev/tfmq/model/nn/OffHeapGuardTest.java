package dev.tfmq.model.nn;

import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.*;

class OffHeapGuardTest {
    @Test
    void parsesLimitsAndRejectsNonsense() {
        assertEquals(3L << 30, OffHeapGuard.parseBytes("3g"));
        assertEquals(512L << 20, OffHeapGuard.parseBytes("512M"));
        assertEquals(4096, OffHeapGuard.parseBytes("4096"));
        var e = assertThrows(IllegalArgumentException.class, () -> OffHeapGuard.parseBytes("lots"));
        assertTrue(e.getMessage().contains("tfmq.offheap.gc-above"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OffHeapGuard.parseBytes("-2g"));
        long total = Pointer.totalPhysicalBytes();
        if (System.getProperty("tfmq.offheap.gc-above") == null && total > 0) assertEquals(total / 4, OffHeapGuard.limitBytes());
    }

    @Test
    void boundsTheResidentSizeOfALoopThatDropsOffHeapArrays() {
        System.gc();
        long base = Pointer.physicalBytes();
        OffHeapGuard guard = new OffHeapGuard(base + (256L << 20), 256L << 20);
        long peak = 0;
        // 60 iterations x 64 MB of touched, then dropped, arrays: 3.8 GB allocated in all, almost nothing on the heap
        for (int i = 0; i < 60; i++) {
            guard.poll();
            INDArray a = Nd4j.create(DataType.FLOAT, 16L << 20);
            a.assign(i);
            peak = Math.max(peak, Pointer.physicalBytes());
        }
        assertTrue(peak - base < (1536L << 20), "resident growth stayed bounded: " + ((peak - base) >> 20) + " MB");
        assertTrue(guard.collections() > 0, "the guard asked for collections");
    }
}
