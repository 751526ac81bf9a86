package dev.tfmq.model.nn;

import org.bytedeco.javacpp.Pointer;

/**
 * Keeps long training loops (AdaRound, TIAR, step-size reconstruction) from growing the process without bound.
 *
 * <p>Why it is needed: ND4J arrays live off-heap and are freed only when the garbage collector finds their small
 * Java wrappers unreachable. A reconstruction iteration allocates a few hundred MB of short-lived arrays (gathered
 * mini-batches, forward activations, gradients, attention scores) but almost no heap, so the collector has no reason
 * to run. Measured: Q-Diffusion's step-size reconstruction of an attention block grew to 24 GB resident and was
 * killed by the kernel on a 23 GB machine. {@link #check()} reads the resident size (cheap: {@code /proc/self/statm})
 * and asks for a collection once it is above a limit, and again only after it grows by a further step, so a large
 * live set costs no repeated collections. Freed buffers leave the process only if glibc returns them: the launchers
 * fix {@code MALLOC_MMAP_THRESHOLD_} for that (see {@code ./tfmq}); without it, the resident size still climbed by
 * ~1 GB per reconstructed block despite the collections.
 *
 * <p>Limit: system property {@code tfmq.offheap.gc-above} (bytes, or with a k/m/g suffix), else a quarter of the
 * machine's physical memory: one step-size iteration over an attention block allocates several GB, so the resident
 * size overshoots the limit by that much before the next check (measured: peaks of limit + 5 GB at half).
 */
public final class OffHeapGuard {
    private static final long STEP = 1L << 30;
    private static final OffHeapGuard DEFAULT = new OffHeapGuard(limit(), STEP);

    private final long limit;
    private final long step;
    private long next;
    private long collections;

    /** A guard that collects above {@code limit} bytes resident, then again each {@code step} bytes higher. */
    public OffHeapGuard(long limit, long step) {
        if (limit <= 0 || step <= 0) throw new IllegalArgumentException("limit and step must be positive");
        this.limit = limit;
        this.step = step;
        this.next = limit;
    }

    /** Called once per iteration of a training loop: the process-wide guard. */
    public static void check() { DEFAULT.poll(); }

    public static long limitBytes() { return DEFAULT.limit; }

    public synchronized void poll() {
        long rss = Pointer.physicalBytes();
        if (rss < next) return;
        System.gc();
        collections++;
        // wait briefly for the deallocator thread to release what the collection found
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        next = Math.max(limit, Pointer.physicalBytes() + step);
    }

    /** Collections this guard requested. */
    public synchronized long collections() { return collections; }

    static long limit() {
        String p = System.getProperty("tfmq.offheap.gc-above");
        if (p != null && !p.isBlank()) return parseBytes(p.trim());
        long total = Pointer.totalPhysicalBytes();
        return total > 0 ? total / 4 : 4L << 30;
    }

    static long parseBytes(String s) {
        char u = Character.toLowerCase(s.charAt(s.length() - 1));
        long mul = switch (u) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            default -> 1;
        };
        String num = mul == 1 ? s : s.substring(0, s.length() - 1);
        try {
            long v = Long.parseLong(num.trim());
            if (v <= 0) throw new NumberFormatException();
            return v * mul;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("tfmq.offheap.gc-above = '" + s + "': expected a positive number of bytes, "
                    + "optionally with k, m or g");
        }
    }
}
