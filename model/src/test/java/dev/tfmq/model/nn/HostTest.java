package dev.tfmq.model.nn;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.*;

class HostTest {
    @Test
    void contiguityAndOffsetViews() {
        INDArray a = Nd4j.zeros(DataType.FLOAT, 4, 3);
        INDArray rows = a.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all());
        assertTrue(Host.isContiguousC(rows));
        assertFalse(Host.isContiguousC(a.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2))));
        assertFalse(Host.isContiguousC(a.transpose()));
        Host.copyInto(new double[]{1, 2, 3, 4, 5, 6}, rows);
        assertEquals(0f, a.getFloat(1, 2));
        assertEquals(1f, a.getFloat(2, 0));
        assertEquals(6f, a.getFloat(3, 2));
        assertThrows(IllegalArgumentException.class, () -> Host.copyInto(new double[6], a.transpose().get(NDArrayIndex.interval(0, 2), NDArrayIndex.all())));
    }
}
