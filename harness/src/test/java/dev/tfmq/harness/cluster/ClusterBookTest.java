package dev.tfmq.harness.cluster;

import dev.tfmq.harness.actors.BatchSpec;
import dev.tfmq.harness.actors.Publisher;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterBookTest {
    static int index(Optional<BatchSpec> b) {
        return b.orElseThrow().index();
    }

    @Test
    void aLostNodesBatchesGoOutAgainFirstAndEachBatchIsAcceptedOnce() {
        ClusterBook book = new ClusterBook(0, 50, 10, 100);
        assertEquals(0, index(book.assign("a", 1)));
        assertEquals(1, index(book.assign("b", 2)));
        assertEquals(2, index(book.assign("a", 3)));
        assertEquals(ClusterBook.Receipt.ACCEPTED, book.receive("b", 1, 4));
        assertEquals(List.of(0, 2), book.release("a"));
        assertEquals(0, index(book.assign("c", 5)), "a lost batch goes out before new ones");
        assertEquals(2, index(book.assign("b", 6)));
        assertEquals(3, index(book.assign("b", 7)));
        assertEquals(ClusterBook.Receipt.ACCEPTED, book.receive("c", 0, 8));
        assertEquals(ClusterBook.Receipt.DUPLICATE, book.receive("a", 0, 9), "the lost node delivered after all");
        assertEquals(ClusterBook.Receipt.ACCEPTED, book.receive("b", 2, 10));
        assertEquals(ClusterBook.Receipt.ACCEPTED, book.receive("b", 3, 11));
        assertEquals(4, index(book.assign("c", 12)));
        assertFalse(book.complete());
        assertEquals(ClusterBook.Receipt.ACCEPTED, book.receive("c", 4, 13));
        assertTrue(book.complete());
        assertTrue(book.assign("c", 14).isEmpty());
        assertEquals(2, book.reassigned());
        assertEquals(1, book.duplicates());
        assertEquals(new BatchSpec(4, 40, 10), book.spec(4));
        int delivered = book.rows().stream().mapToInt(Publisher.NodeRow::batchesDone).sum();
        assertEquals(5, delivered);
        assertThrows(IllegalArgumentException.class, () -> book.receive("c", 5, 15));
    }

    @Test
    void batchesGoNoFurtherThanTheWindowBeyondTheFirstMissingOne() {
        ClusterBook book = new ClusterBook(2, 100, 8, 3);
        assertEquals(2, index(book.assign("a", 1)));
        assertEquals(3, index(book.assign("b", 1)));
        assertEquals(4, index(book.assign("b", 1)));
        assertTrue(book.assign("b", 1).isEmpty(), "batch 5 would be 3 beyond batch 2, still missing");
        book.receive("b", 3, 2);
        book.receive("b", 4, 2);
        assertTrue(book.assign("b", 3).isEmpty());
        book.receive("a", 2, 4);
        assertEquals(5, index(book.assign("b", 5)));
        assertEquals(new BatchSpec(12, 96, 4), book.spec(12), "the last batch is short");
    }

    @Test
    void throughputPerNodeAndForTheCluster() {
        ClusterBook book = new ClusterBook(0, 40, 10, 10);
        book.member("a", List.of("worker"), "up");
        book.assign("a", 0);
        book.assign("a", 0);
        book.receive("a", 0, 1_000_000_000L);
        book.receive("a", 1, 2_000_000_000L);
        Publisher.NodeRow a = book.rows().get(0);
        assertEquals(10.0, a.samplesPerSecond(), 1e-12);
        assertEquals(10.0, book.samplesPerSecond(), 1e-12);
        assertEquals(1, book.up());
        assertEquals(1, book.pullingNodes("coordinator"));
        assertEquals(0, book.pullingNodes("a"));
    }
}
